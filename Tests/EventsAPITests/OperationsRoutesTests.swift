import EventsAPI
import Foundation
import JSON
import Testing

@Suite struct OperationsRoutesTests {
    @Test func healthAnswersUpWithoutToken() throws {
        let server = try OperationsTestServer()
        defer { server.remove() }

        let response = try server.request("GET", "/health")

        #expect(response.status == 200)
        #expect(try response.json() == ["status": "UP"])
        #expect(response.header("Cache-Control") == "no-store")
        let head = try server.request("HEAD", "/health")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
    }

    @Test func readyListsEveryCheck() throws {
        let server = try OperationsTestServer(extraChecks: [OperationsReadiness.Check(name: "extra") { nil }])
        defer { server.remove() }

        let response = try server.request("GET", "/ready")

        #expect(response.status == 200)
        let body = try response.json()
        #expect(body["status"] == "READY")
        #expect(body["checks"] == [["name": "extra", "status": "UP"]])
    }

    @Test func readyFailsWithReason() throws {
        let server = try OperationsTestServer(extraChecks: [
            OperationsReadiness.Check(name: "database") { nil },
            OperationsReadiness.Check(name: "queue") { "the workflow engine is not running" },
        ])
        defer { server.remove() }

        let response = try server.request("GET", "/ready")

        #expect(response.status == 503)
        #expect(response.header("Retry-After") == "5")
        let body = try response.json()
        #expect(body["status"] == "NOT_READY")
        #expect(body["checks"] == [
            ["name": "database", "status": "UP"],
            ["name": "queue", "status": "DOWN", "reason": "the workflow engine is not running"],
        ])
    }

    @Test func readyFailsDuringShutdown() throws {
        let server = try OperationsTestServer(extraChecks: [OperationsReadiness.Check(name: "database") { nil }])
        defer { server.remove() }

        server.readiness.beginShutdown()
        let response = try server.request("GET", "/ready")

        #expect(response.status == 503)
        let checks = try response.json()["checks"]?.arrayValue ?? []
        #expect(checks.first == ["name": "shutdown", "status": "DOWN", "reason": "the server is shutting down"])
    }

    @Test func metricsUsePrometheusText() throws {
        let server = try OperationsTestServer()
        defer { server.remove() }
        _ = try server.request("GET", "/health")

        let response = try server.request("GET", "/metrics")

        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let lines = response.text.split(separator: "\n").map(String.init)
        #expect(lines.contains("# TYPE http_requests_total counter"))
        #expect(lines.contains { $0.hasPrefix("http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} ") })
        // Every sample line is `name{labels} value` with a number as the value.
        for line in lines where !line.hasPrefix("#") {
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            #expect(Double(value) != nil, "not a sample: \(line)")
        }
    }

    @Test func metricsCoverTheOperatorsQuestions() throws {
        let server = try OperationsTestServer()
        defer { server.remove() }
        OperationsProcessMetrics.register(in: server.metrics)
        let token = try TestHTTPClient(port: server.port)
            .request("POST", "/oauth/token?username=demo&password=demo&client_id=demo&client_secret=demo&grant_type=password&scope=api")
        let accessToken = try #require(try token.json()["access_token"]?.stringValue)
        let body = #"{"name": "CREATE", "retailerId": "1", "entityType": "ORDER", "entitySubtype": "HD", "entityRef": "M-1", "rootEntityType": "ORDER", "rootEntityRef": "M-1", "attributes": {"customerRef": "C-1", "totalPrice": 10.5, "currency": "AUD"}}"#
        let posted = try server.request("POST", "/api/v4.1/event/sync", headers: [
            ("Authorization", "Bearer \(accessToken)"), ("Content-Type", "application/json")], body: Array(body.utf8))
        #expect(posted.status == 200, "\(posted.text)")

        let text = try server.request("GET", "/metrics").text

        // Requests by route and status, latency, queue, final statuses, webhooks, write batches, process.
        for family in ["http_requests_total", "http_request_duration_seconds", "workflow_queue_depth",
                       "workflow_events_executed_total", "workflow_webhook_attempts_total", "db_write_group_size",
                       "process_resident_memory_bytes", "process_open_fds"] {
            #expect(text.contains("# TYPE \(family) "), "missing \(family)")
        }
        #expect(text.contains("workflow_events_executed_total{status=\"COMPLETE\"} "))
        #expect(text.contains("http_request_duration_seconds_bucket{"))
    }

    @Test func operationsRoutesNeedNoToken() throws {
        let server = try OperationsTestServer()
        defer { server.remove() }

        for path in ["/health", "/ready", "/metrics", "/api/v4.1/openapi.json"] {
            #expect(try server.request("GET", path).status == 200, "\(path)")
        }
        let protected = try server.request("GET", "/api/v4.1/event")
        #expect(protected.status == 401)
        #expect(protected.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
    }
}
