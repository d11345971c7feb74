import HTTP
import JSON
import Telemetry

/// The operations endpoints, outside `/api` and without authentication, for load balancers,
/// orchestrators and Prometheus:
/// - `GET /health`: 200 whenever the process serves requests.
/// - `GET /ready`: 200 when every readiness check passes, else 503 listing the failed ones.
/// - `GET /metrics`: every metric of the registry in the Prometheus text format 0.0.4.
public struct OperationsRoutes: Sendable {
    public static let healthPath = "/health"
    public static let readyPath = "/ready"
    public static let metricsPath = "/metrics"

    public let readiness: OperationsReadiness
    public let metrics: MetricsRegistry

    public init(readiness: OperationsReadiness, metrics: MetricsRegistry = .shared) {
        self.readiness = readiness
        self.metrics = metrics
    }

    public func register(into router: inout Router) {
        router.add(.get, OperationsRoutes.healthPath, execution: .inline) { _, responder in
            responder.send(.json(200, ["status": "UP"], headers: OperationsRoutes.noStore))
        }

        // Blocking: the database probe waits for the writer thread.
        let readiness = self.readiness
        router.add(.get, OperationsRoutes.readyPath, execution: .blocking) { _, responder in
            responder.send(OperationsRoutes.readyResponse(readiness.evaluate()))
        }

        // Blocking: gauges may read the database (the age of the oldest PENDING event).
        let metrics = self.metrics
        router.add(.get, OperationsRoutes.metricsPath, execution: .blocking) { _, responder in
            var headers = OperationsRoutes.noStore
            headers.append("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            responder.send(HTTPResponse(status: 200, headers: headers, body: Array(metrics.render().utf8)))
        }
    }

    /// `{"status":"READY","checks":[{"name":"database","status":"UP"},...]}` with 200, or
    /// `NOT_READY` with 503 and a `reason` on each failed check.
    static func readyResponse(_ results: [OperationsReadiness.Result]) -> HTTPResponse {
        let isReady = results.allSatisfy { $0.failure == nil }
        let checks: [JSONValue] = results.map { result in
            var check = JSONObject([("name", .string(result.name)), ("status", .string(result.failure == nil ? "UP" : "DOWN"))])
            if let failure = result.failure { check["reason"] = .string(failure) }
            return .object(check)
        }
        let body: JSONValue = ["status": .string(isReady ? "READY" : "NOT_READY"), "checks": .array(checks)]
        var headers = noStore
        if !isReady { headers.append("Retry-After", "5") }
        return .json(isReady ? 200 : 503, body, headers: headers)
    }

    static var noStore: HTTPFields {
        HTTPFields([("Cache-Control", "no-store")])
    }
}
