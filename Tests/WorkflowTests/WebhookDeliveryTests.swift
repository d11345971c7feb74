import EventStore
import Foundation
import JSON
import Testing
import TestSupport
@testable import Workflow

@Suite struct WebhookDeliveryTests {
    private func workflow(url: String) throws -> WorkflowDefinition {
        try WorkflowFixtures.workflow("""
            {"retailerId": "1", "version": "1", "name": "ORDER::HD", "entityType": "ORDER", "entitySubtype": "HD",
             "statuses": [{"name": "CREATED", "entityType": "ORDER"}, {"name": "COMPLETE", "entityType": "ORDER"}],
             "rulesets": [{"name": "OrderDelivered", "type": "ORDER", "rules": [
                {"name": "ACME.core.SetState", "props": {"status": "COMPLETE"}},
                {"name": "ACME.core.SendWebhook", "props": {"name": "ORDER_DELIVERED", "url": "\(url)"}}]}]}
            """)
    }

    private func outbox(_ harness: EngineHarness, eventId: String) throws -> [OutboxWebhook] {
        try harness.store.read { try OutboxRecords.fetchAll(eventId: eventId, on: $0) }
    }

    private func waitForState(_ harness: EngineHarness, eventId: String, _ state: OutboxWebhook.State) throws -> OutboxWebhook? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let webhook = try outbox(harness, eventId: eventId).first, webhook.state == state {
                return webhook
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return try outbox(harness, eventId: eventId).first
    }

    @Test func receiverFailingTwiceThenAccepting() throws {
        let receiver = try WebhookReceiver(statuses: [500, 503, 200])
        defer { receiver.close() }
        let harness = try EngineHarness(workflows: [try workflow(url: "http://127.0.0.1:\(receiver.port)/hooks/order-delivered")]) {
            $0.webhooks.initialBackoffMilliseconds = 50
        }
        defer { harness.close() }

        let event = WorkflowFixtures.event("OrderDelivered", type: "ORDER", ref: "HD-9", subtype: "HD")
        guard case .processed(let report) = harness.sync(event), report.status == EventStatus.complete else {
            Issue.record("OrderDelivered was not processed")
            return
        }

        let requests = receiver.waitForRequests(3)
        #expect(requests.count == 3)
        let delivered = try #require(try waitForState(harness, eventId: event.id, .delivered))
        #expect(delivered.state == .delivered)
        #expect(delivered.attempts == 3)
        #expect(delivered.lastError == nil)

        let first = try #require(requests.first)
        #expect(first.head.hasPrefix("POST /hooks/order-delivered HTTP/1.1\r\n"))
        #expect(first.head.contains("X-Webhook-Name: ORDER_DELIVERED"))
        #expect(first.head.contains("X-Webhook-Attempt: 1"))
        #expect(requests[2].head.contains("X-Webhook-Attempt: 3"))
        let body = try JSONParser().parse(first.body)
        #expect(body["id"] == .string(event.id))
        #expect(body["name"] == "OrderDelivered")
        #expect(body["eventStatus"] == "COMPLETE")

        let attempts = try harness.caused(by: event.id).filter { $0.name == "WebhookAttempt" }
        #expect(attempts.map(\.eventStatus) == [EventStatus.failed, EventStatus.failed, EventStatus.success])
        #expect(attempts.map { $0.auditValue("httpStatus") } == [500, 503, 200])
        #expect(attempts.allSatisfy { $0.category == AuditCategory.action })
        #expect(attempts[0].auditValue("nextAttemptOn") != nil)
    }

    @Test func unreachableReceiverGivesUp() throws {
        // Bind and close a socket to get a port nothing listens on.
        let probe = try WebhookReceiver(statuses: [200])
        let port = probe.port
        probe.close()
        let harness = try EngineHarness(workflows: [try workflow(url: "http://127.0.0.1:\(port)/hook")]) {
            $0.webhooks.initialBackoffMilliseconds = 20
            $0.webhooks.maxAttempts = 3
        }
        defer { harness.close() }
        let event = WorkflowFixtures.event("OrderDelivered", type: "ORDER", ref: "HD-10", subtype: "HD")
        guard case .processed = harness.sync(event) else {
            Issue.record("OrderDelivered was not processed")
            return
        }
        let failed = try #require(try waitForState(harness, eventId: event.id, .failed))
        #expect(failed.state == .failed)
        #expect(failed.attempts == 3)
        #expect(failed.lastError?.contains("cannot connect") == true)

        // The queue keeps draining while the webhook fails.
        let other = WorkflowFixtures.event("OrderDelivered", type: "ORDER", ref: "HD-11", subtype: "HD")
        guard case .processed(let report) = harness.sync(other) else {
            Issue.record("second event was not processed")
            return
        }
        #expect(report.status == EventStatus.complete)
    }

    @Test func backoffDoublesUpToTheMax() {
        var configuration = WebhookConfiguration()
        configuration.initialBackoffMilliseconds = 1000
        configuration.maxBackoffMilliseconds = 5000
        #expect((1...5).map { configuration.backoff(afterAttempt: $0) } == [1000, 2000, 4000, 5000, 5000])
    }

    @Test func statusLineParsing() throws {
        #expect(try WebhookClient.parseStatus(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)) == 204)
        #expect(try WebhookClient.parseStatus(Array("HTTP/1.1 200 OK\r\nX: y".utf8)) == nil)
        #expect(throws: WebhookDeliveryError.self) { try WebhookClient.parseStatus(Array("SMTP ready\r\n\r\n".utf8)) }
    }
}
