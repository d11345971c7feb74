import EventStore
import Foundation
import JSON
import Testing
import TestSupport

/// Runs the four reference scenarios over HTTP, each through `/event/sync` and through
/// `/event/async` with polling, checking statuses, entity states and audit trails.
@Suite struct ScenarioTests {
    private func withServer(webhook: Bool = false, _ body: (ScenarioServer, WebhookReceiver?) throws -> Void) throws {
        let receiver = webhook ? try WebhookReceiver(statuses: [200]) : nil
        defer { receiver?.close() }
        let server = try ScenarioServer(webhookPort: receiver?.port)
        defer { server.remove() }
        try body(server, receiver)
    }

    // MARK: - Order lifecycle

    @Test(arguments: [ScenarioRunner.Mode.sync, .async])
    func orderLifecycle(mode: ScenarioRunner.Mode) throws {
        try withServer(webhook: true) { server, receiver in
            let steps = try ScenarioRunner(server: server, mode: mode).run("order-lifecycle.json")
            #expect(steps.count == 8)
            try checkOrderAuditTrail(server, steps: steps)

            let requests = try #require(receiver).waitForRequests(1)
            #expect(requests.count == 1)
            let body = try JSONParser().parse(requests.first?.body ?? [])
            #expect(body["name"] == "OrderDelivered")
            #expect(body["context"]?["entityType"] == "ORDER")
            #expect(body["context"]?["entityRef"] == "HD-1001")
            #expect(requests.first?.head.contains("X-Webhook-Name: ORDER_DELIVERED") == true)
        }
    }

    @Test func webhookRetriedUntilAccepted() throws {
        let receiver = try WebhookReceiver(statuses: [500, 502, 200])
        defer { receiver.close() }
        let server = try ScenarioServer(webhookPort: receiver.port)
        defer { server.remove() }

        let steps = try ScenarioRunner(server: server, mode: .sync).run("order-lifecycle.json")
        let requests = receiver.waitForRequests(3)
        #expect(requests.count == 3)
        #expect(requests.map { $0.body } == Array(repeating: requests[0].body, count: requests.count))

        // Each attempt is audited under the event whose ruleset sent the webhook.
        let deadline = Date().addingTimeInterval(10)
        var attempts: [JSONValue] = []
        while Date() < deadline {
            let trail = try server.eventsBySource(rootEntityRef: "HD-1001")
            let delivered = trail[steps[7].eventId]?.first { $0["type"] == "ORCHESTRATION" }
            attempts = (trail[delivered?["id"]?.stringValue ?? ""] ?? []).filter { $0["name"] == "WebhookAttempt" }
            if attempts.count == 3 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let sorted = attempts.sorted { ($0.auditValue("attempt")?.integerValue ?? 0) < ($1.auditValue("attempt")?.integerValue ?? 0) }
        #expect(sorted.map { $0.auditValue("httpStatus") } == [500, 502, 200])
        #expect(sorted.map { $0["eventStatus"] } == ["FAILED", "FAILED", "SUCCESS"])
        #expect(sorted.last?.auditValue("outcome") == "DELIVERED")
    }

    private func checkOrderAuditTrail(_ server: ScenarioServer, steps: [ScenarioRunner.Step]) throws {
        let trail = try server.eventsBySource(rootEntityRef: "HD-1001")
        let expectedRules = [3, 2, 4, 0, 0, 4, 3, 3]
        let expectedInline: [String?] = [nil, nil, "FulfilmentPicked", nil, nil, "FulfilmentShipped", nil, "OrderDelivered"]
        for (index, step) in steps.enumerated() {
            let events = trail[step.eventId] ?? []
            let audits = events.filter { $0["type"] == "ORCHESTRATION_AUDIT" }
            func count(_ category: String) -> Int { audits.filter { $0["category"]?.stringValue == category }.count }
            let label = "step \(index + 1)"

            #expect(audits.allSatisfy { $0["context"]?["rootEntityRef"] == "HD-1001" }, "\(label)")
            switch step.status {
            case EventStatus.failed:
                #expect(audits.count == 1, "\(label)")
                let exception = try #require(audits.first)
                #expect(exception["category"] == "exception")
                #expect(exception.auditValue("attribute") == "carrier")
                #expect(exception.auditValue("expectedType") == "STRING")
            case EventStatus.noMatch:
                #expect(count("snapshot") == 1, "\(label)")
                #expect(count("ruleSet") == 0, "\(label)")
                #expect(count("exception") == 1, "\(label)")
            default:
                #expect(count("snapshot") == 1, "\(label)")
                #expect(count("ruleSet") == 1, "\(label)")
                #expect(count("rule") == expectedRules[index], "\(label)")
                #expect(count("ACTION") >= 1, "\(label)")
            }

            let inline = events.filter { $0["type"] == "ORCHESTRATION" }
            #expect(inline.map { $0["name"]?.stringValue } == (expectedInline[index].map { [$0] } ?? []), "\(label)")
            if let sent = inline.first, let sentId = sent["id"]?.stringValue {
                #expect(sent["eventStatus"] == "COMPLETE", "\(label)")
                #expect(sent["context"]?["entityType"] == "ORDER", "\(label)")
                let inlineAudits = trail[sentId] ?? []
                #expect(inlineAudits.filter { $0["category"] == "snapshot" }.count == 1, "\(label)")
                #expect(inlineAudits.filter { $0["category"] == "ruleSet" }.count == 1, "\(label)")
            }
        }

        let delivered = trail[steps[7].eventId]?.first { $0["type"] == "ORCHESTRATION" }
        let deliveredId = try #require(delivered?["id"]?.stringValue)
        #expect(trail[deliveredId]?.contains { $0["name"] == "WebhookAction" } == true)
    }

    // MARK: - Cancel order

    @Test(arguments: [ScenarioRunner.Mode.sync, .async])
    func cancelOrder(mode: ScenarioRunner.Mode) throws {
        try withServer { server, _ in
            let steps = try ScenarioRunner(server: server, mode: mode).run("cancel-order.json")
            #expect(steps.map(\.status) == ["COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE", "NO_MATCH"])

            let trail = try server.eventsBySource(rootEntityRef: "ON-1234")
            let inline = (trail[steps[3].eventId] ?? []).filter { $0["type"] == "ORCHESTRATION" }
            #expect(inline.map { $0["name"]?.stringValue } == ["CancelFulfilment", "CancelFulfilment"])
            #expect(Set(inline.compactMap { $0["context"]?["entityRef"]?.stringValue }) == ["ON-1234-F1", "ON-1234-F2"])
            let noMatch = (trail[steps[4].eventId] ?? []).first { $0["category"] == "exception" }
            let message = noMatch?.auditValue("message")?.stringValue ?? ""
            #expect(message.contains("CANCELLED"))
            #expect(message.contains("CREATED, BOOKED"))
            #expect(try server.entity("ORDER", "ON-1234")?["attributes"]?["cancelReason"] == "Stolen Credit Card")
        }
    }

    // MARK: - Inventory deltas

    @Test(arguments: [ScenarioRunner.Mode.sync, .async])
    func inventoryDeltas(mode: ScenarioRunner.Mode) throws {
        try withServer { server, _ in
            let steps = try ScenarioRunner(server: server, mode: mode).run("inventory-deltas.json")
            #expect(steps.map(\.status) == ["COMPLETE", "COMPLETE", "FAILED"])
            let trail = try server.eventsBySource(rootEntityRef: "DEFAULT:1")
            let custom = (trail[steps[0].eventId] ?? []).filter { $0["category"] == "CUSTOM" }
            #expect(custom.map { $0["name"] } == ["stock movement applied"])
            let exception = try #require(trail[steps[2].eventId]?.first)
            #expect(exception.auditValue("attribute") == "delta")
            #expect(exception.auditValue("expectedType") == "INTEGER")
            #expect(exception.auditValue("actualType") == "STRING")
            if mode == .sync {
                #expect(steps[2].errorMessage?.contains("delta") == true)
            }
            let catalogue = try #require(try server.entity("INVENTORY_CATALOGUE", "DEFAULT:1"))
            #expect(catalogue["entitySubtype"] == "DEFAULT")
            #expect(catalogue["workflowName"] == "INVENTORY_CATALOGUE::DEFAULT")
        }
    }

    // MARK: - Product master

    @Test(arguments: [ScenarioRunner.Mode.sync, .async])
    func productMaster(mode: ScenarioRunner.Mode) throws {
        try withServer { server, _ in
            let steps = try ScenarioRunner(server: server, mode: mode).run("product-master.json")
            #expect(steps.map(\.status) == ["COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE"])
            let product = try #require(try server.entity("PRODUCT", "TSHIRT-01"))
            #expect(product["entitySubtype"] == "STANDARD")
            #expect(product["attributes"]?["gtin"] == "09312345678907")
            #expect(product["rootEntityRef"] == "PC:1")
            let variant = try #require(try server.entity("PRODUCT", "TSHIRT-01-RED-M"))
            #expect(variant["attributes"]?["colour"] == "red")
        }
    }

    // MARK: - Endpoints

    @Test func entityEndpointErrors() throws {
        try withServer { server, _ in
            #expect(try server.entity("ORDER", "NOPE") == nil)
            let missingRetailer = try server.server.request("GET", "/api/v4.1/entity/ORDER/X", token: server.token)
            #expect(missingRetailer.status == 400)
            #expect(missingRetailer.errorMessage?.contains("retailerId is required") == true)
            let anonymous = try server.server.request("GET", "/api/v4.1/entity/ORDER/X?retailerId=1")
            #expect(anonymous.status == 401)

            _ = try server.postSync(#"{"name":"Probe","retailerId":"2","entityType":"ORDER","entityRef":"R2","entitySubtype":"HD"}"#)
            let limited = try server.server.token("retailer1")
            let hidden = try server.server.request("GET", "/api/v4.1/entity/ORDER/R2?retailerId=2", token: limited)
            #expect(hidden.status == 404)
        }
    }

    @Test func syncRejectsOtherTypes() throws {
        try withServer { server, _ in
            let general = try server.postSync(#"{"name":"Note","type":"GENERAL","retailerId":"1"}"#)
            #expect(general.status == 400)
            #expect(general.errorMessage?.contains("ORCHESTRATION") == true)
            let invalid = try server.postSync(#"{"name":"X","retailerId":"1","entityType":"ORDER","entityRef":"A","attributes":{"a":1,"a":2}}"#)
            #expect(invalid.status == 400)
        }
    }

    @Test func syncRunsBehindQueuedEvents() throws {
        try withServer { server, _ in
            var body = ScenarioTests.delta(ref: "Q-1", delta: 1)
            var ids: [String] = []
            for _ in 0..<50 {
                ids.append(try server.postAsync(body))
            }
            body = ScenarioTests.delta(ref: "Q-1", delta: 1000)
            let response = try server.postSync(body)
            #expect(response.status == 200)
            // Every queued event of the root ran before the sync one.
            for id in ids {
                let event = try server.waitForEvent(id, seconds: 1)
                #expect(event["eventStatus"] == "COMPLETE")
            }
            #expect(try server.entity("INVENTORY_POSITION", "Q-1")?["attributes"]?["onHand"] == 1050)
        }
    }

    @Test func syncTimeoutAnswers504() throws {
        let server = try ScenarioServer { $0.syncTimeoutMilliseconds = 50 }
        defer { server.remove() }
        // With the engine stopped the event is stored but cannot run in time.
        server.engine.stop()
        let response = try server.postSync(ScenarioTests.delta(ref: "T-1", delta: 5))
        #expect(response.status == 504)
        #expect(response.errorMessage?.contains("stays PENDING") == true)
        let location = try #require(response.header("Location"))
        let id = String(location.split(separator: "/").last ?? "")
        let stored = try server.server.request("GET", "/api/v4.1/event/\(id)", token: server.token)
        #expect(try stored.json()["eventStatus"] == "PENDING")
    }

    static func delta(ref: String, delta: Int, root: String = "DEFAULT:1") -> String {
        #"{"name":"InventoryDelta","retailerId":"1","entityType":"INVENTORY_POSITION","entityRef":"\#(ref)","rootEntityType":"INVENTORY_CATALOGUE","rootEntityRef":"\#(root)","attributes":{"delta":\#(delta),"reason":"TEST"}}"#
    }
}
