import EventStore
import Foundation
import JSON
import Testing
@testable import Workflow

@Suite struct WorkflowEngineTests {
    private func orderEvents() -> [Event] {
        [
            WorkflowFixtures.event("CREATE", type: "ORDER", ref: "HD-1001", subtype: "HD", rootType: "ORDER", rootRef: "HD-1001",
                                   attributes: JSONObject([("customerRef", "CUST-77"), ("totalPrice", 129.95)])),
            WorkflowFixtures.event("CREATE", type: "FULFILMENT", ref: "HD-1001-F1", rootType: "ORDER", rootRef: "HD-1001",
                                   attributes: JSONObject([("locationRef", "DC-SYD")])),
            WorkflowFixtures.event("ConfirmPick", type: "FULFILMENT", ref: "HD-1001-F1", rootType: "ORDER", rootRef: "HD-1001",
                                   attributes: JSONObject([("pickedItems", [["skuRef": "SKU-RED-M", "quantity": 2]])])),
        ]
    }

    @Test func workersRunAtLowerPriority() throws {
        let harness = try EngineHarness(configure: { $0.workerCount = 7 })
        defer { harness.close() }

        // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (proc(5)); the
        // name in field 2 may contain spaces, so fields are counted after its closing ")".
        func threadsAtWorkerNice() -> Int {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return tasks.filter { task in
                guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                      let nameEnd = stat.lastIndex(of: ")") else { return false }
                let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
                return fields.count > 16 && fields[16] == "\(WorkflowEngine.workerNiceValue)"
            }.count
        }
        let deadline = Date().addingTimeInterval(5)
        while threadsAtWorkerNice() < 7 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(threadsAtWorkerNice() >= 7)
    }

    @Test func asyncEventsRunInOrder() throws {
        let harness = try EngineHarness()
        defer { harness.close() }
        let events = orderEvents()
        try harness.post(events)
        #expect(try harness.waitUntilProcessed(events.map(\.id)))

        for event in events {
            #expect(try harness.status(of: event.id) == EventStatus.complete)
        }
        #expect(try harness.entity("ORDER", "HD-1001")?.status == "PICKED")
        #expect(try harness.entity("FULFILMENT", "HD-1001-F1")?.status == "PICKED")
        #expect(try harness.entity("FULFILMENT", "HD-1001-F1")?.attributes["pickedItems"]?.arrayValue?.count == 1)

        let trail = try harness.caused(by: events[2].id)
        #expect(trail.filter { $0.category == AuditCategory.snapshot }.count == 1)
        #expect(trail.filter { $0.category == AuditCategory.rule }.count == 4)
        let inline = try #require(trail.first { $0.type == EventType.orchestration })
        #expect(inline.name == "FulfilmentPicked")
        #expect(inline.eventStatus == EventStatus.complete)
        #expect(try harness.caused(by: inline.id).filter { $0.category == AuditCategory.ruleSet }.map(\.name) == ["FulfilmentPicked"])
    }

    @Test func syncExecutionReportsStatus() throws {
        let harness = try EngineHarness()
        defer { harness.close() }
        let events = orderEvents()
        for event in events {
            guard case .processed(let report) = harness.sync(event) else {
                Issue.record("event \(event.name) was not processed")
                return
            }
            #expect(report.status == EventStatus.complete)
            #expect(report.eventId == event.id)
            #expect(report.entityId != nil)
        }
        let again = harness.sync(WorkflowFixtures.event("ConfirmPick", type: "FULFILMENT", ref: "HD-1001-F1", rootType: "ORDER",
                                                        rootRef: "HD-1001", attributes: JSONObject([("pickedItems", [])])))
        guard case .processed(let report) = again else {
            Issue.record("not processed: \(again)")
            return
        }
        #expect(report.status == EventStatus.noMatch)

        let failed = harness.sync(WorkflowFixtures.event("ShipConfirmation", type: "FULFILMENT", ref: "HD-1001-F1", rootType: "ORDER",
                                                         rootRef: "HD-1001", attributes: JSONObject([("consignmentRef", "CN-1")])))
        guard case .processed(let failure) = failed else {
            Issue.record("not processed: \(failed)")
            return
        }
        #expect(failure.status == EventStatus.failed)
        #expect(failure.errorMessage?.contains("carrier") == true)
        #expect(try harness.caused(by: failure.eventId).map(\.category) == [AuditCategory.exception])
    }

    @Test func pendingEventsRunAfterRestart() throws {
        let first = try EngineHarness(start: false)
        let events = orderEvents()
        try first.post(events, announce: false)
        first.close()

        let second = try EngineHarness(directory: first.directory)
        defer { second.close() }
        #expect(try second.waitUntilProcessed(events.map(\.id)))
        #expect(try second.entity("ORDER", "HD-1001")?.status == "PICKED")
        for event in events {
            #expect(try second.caused(by: event.id).filter { $0.category == AuditCategory.snapshot }.count == 1)
        }
    }

    @Test func stopLeavesQueuedEventsPending() throws {
        let first = try EngineHarness()
        var events: [Event] = []
        for index in 0..<300 {
            events.append(WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: "P-\(index % 3)",
                                                 rootType: "INVENTORY_CATALOGUE", rootRef: "DEFAULT:1",
                                                 attributes: JSONObject([("delta", 1), ("reason", "R")])))
        }
        try first.post(events)
        first.close()

        let second = try EngineHarness(directory: first.directory)
        defer { second.close() }
        #expect(try second.waitUntilProcessed(events.map(\.id)))
        var total: Int64 = 0
        for index in 0..<3 {
            total += try second.entity("INVENTORY_POSITION", "P-\(index)")?.attributes["onHand"]?.integerValue ?? 0
        }
        #expect(total == 300)
        for event in events.prefix(50) {
            #expect(try second.caused(by: event.id).filter { $0.category == AuditCategory.snapshot }.count == 1)
        }
    }

    @Test func processedEventIsNotRunTwice() throws {
        let harness = try EngineHarness()
        defer { harness.close() }
        let event = orderEvents()[0]
        try harness.post(event)
        #expect(try harness.waitUntilProcessed([event.id]))
        harness.engine.eventsAccepted([event])
        let probe = WorkflowFixtures.event("Probe", type: "ORDER", ref: "HD-1001", rootType: "ORDER", rootRef: "HD-1001")
        try harness.post(probe)
        #expect(try harness.waitUntilProcessed([probe.id]))
        #expect(try harness.caused(by: event.id).filter { $0.category == AuditCategory.snapshot }.count == 1)
    }

    @Test func scheduledEventRunsOnTime() throws {
        let workflow = try WorkflowFixtures.workflow("""
            {"retailerId": "1", "version": "1", "name": "TIMER::T", "entityType": "TIMER", "entitySubtype": "T",
             "statuses": [{"name": "CREATED", "entityType": "TIMER"}, {"name": "WAITING", "entityType": "TIMER"}, {"name": "DONE", "entityType": "TIMER"}],
             "rulesets": [
               {"name": "Start", "type": "TIMER", "rules": [{"name": "A.core.SetState", "props": {"status": "WAITING"}},
                                                             {"name": "A.core.ScheduleEvent", "props": {"eventName": "Wake", "delay": 0.3}}]},
               {"name": "Wake", "type": "TIMER", "rules": [{"name": "A.core.SetState", "props": {"status": "DONE"}}], "triggers": [{"status": "WAITING"}]}
             ]}
            """)
        let harness = try EngineHarness(workflows: [workflow])
        defer { harness.close() }
        let start = WorkflowFixtures.event("Start", type: "TIMER", ref: "T-1", subtype: "T")
        let begun = Date()
        guard case .processed(let report) = harness.sync(start), report.status == EventStatus.complete else {
            Issue.record("Start was not processed")
            return
        }
        let scheduled = try #require(try harness.caused(by: start.id).first { $0.type == EventType.orchestration })
        #expect(scheduled.name == "Wake")
        #expect(try harness.waitUntilProcessed([scheduled.id], seconds: 5))
        let elapsed = Date().timeIntervalSince(begun)
        #expect(elapsed >= 0.25)
        #expect(elapsed < 1.3)
        #expect(try harness.status(of: scheduled.id) == EventStatus.complete)
        #expect(try harness.entity("TIMER", "T-1")?.status == "DONE")
    }

    @Test func scheduledEventSurvivesRestart() throws {
        let first = try EngineHarness(start: false)
        var event = WorkflowFixtures.event("CancelOrder", type: "ORDER", ref: "S-1", subtype: "HD",
                                           attributes: JSONObject([("cancelReason", "late")]))
        event.eventStatus = EventStatus.scheduled
        event.scheduledOn = Int64(Date().timeIntervalSince1970 * 1000) + 200
        try first.post([event], announce: false)
        first.close()

        let second = try EngineHarness(directory: first.directory)
        defer { second.close() }
        #expect(try second.waitUntilProcessed([event.id], seconds: 5))
        #expect(try second.status(of: event.id) == EventStatus.complete)
        #expect(try second.entity("ORDER", "S-1")?.status == "CANCELLED")
    }

    @Test func perRootOrderUnderConcurrency() throws {
        let harness = try EngineHarness { $0.workerCount = 4 }
        defer { harness.close() }
        let positions = 20
        let perThread = 100
        let threads = 8
        let events = harness.postConcurrently(threads: threads, perThread: perThread) { thread, index in
            let position = "SKU-\((thread * 7 + index) % positions)"
            let delta: Int64 = index % 3 == 0 ? -1 : 1
            // Each position is the root here, so order is checked per position.
            return WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: position,
                                          rootType: "INVENTORY_CATALOGUE", rootRef: "CAT-\(position)",
                                          attributes: JSONObject([("delta", .integer(delta)), ("reason", "MOVE")]))
        }
        #expect(events.count == threads * perThread)
        #expect(try harness.waitUntilProcessed(events.map(\.id), seconds: 60))

        var expected: [String: Int64] = [:]
        for event in events {
            expected[event.context.entityRef!, default: 0] += event.attributes["delta"]?.integerValue ?? 0
            #expect(try harness.status(of: event.id) == EventStatus.complete)
        }
        for (position, sum) in expected {
            #expect(try harness.entity("INVENTORY_POSITION", position)?.attributes["onHand"]?.integerValue == sum, "\(position)")
        }

        // Snapshot audits are made in execution order (UUIDv7 ids), which must be accepted order per root.
        let executedOrder = try harness.snapshotOrder(entityType: "INVENTORY_POSITION")
        var acceptedOrder: [String: [String]] = [:]
        for event in events {
            acceptedOrder[event.context.entityRef!, default: []].append(event.id)
        }
        #expect(executedOrder == acceptedOrder)
    }
}

extension WorkflowEngineTests {
    /// Two roots race to create the same entity. Whichever loses fails; the events queued
    /// behind it on its root, which may have executed on top of the failed write, still run
    /// exactly once.
    @Test func failedWriteKeepsLaterEventsOfRoot() throws {
        for round in 0..<5 {
            let harness = try EngineHarness { $0.workerCount = 4 }
            defer { harness.close() }
            func delta(_ ref: String, root: String) -> Event {
                WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: ref, rootType: "INVENTORY_CATALOGUE",
                                       rootRef: root, attributes: JSONObject([("delta", 1), ("reason", "R")]))
            }
            var events: [Event] = []
            for root in ["CAT-A", "CAT-B"] {
                events.append(delta("SHARED-\(round)", root: root))
                for _ in 0..<40 {
                    events.append(delta("OWN-\(root)", root: root))
                }
            }
            try harness.post(events)
            #expect(try harness.waitUntilProcessed(events.map(\.id)))

            let statuses = try events.map { try harness.status(of: $0.id) }
            #expect(statuses.filter { $0 == EventStatus.failed }.count == 1, "round \(round)")
            let failed = try #require(events.first { (try? harness.status(of: $0.id)) == EventStatus.failed })
            let audit = try harness.caused(by: failed.id).first
            #expect(audit?.name == "EntityConflict", "round \(round)")
            #expect(audit?.auditValue("message")?.stringValue?.contains("belongs to root INVENTORY_CATALOGUE/CAT-") == true)
            #expect(try harness.entity("INVENTORY_POSITION", "OWN-CAT-A")?.attributes["onHand"] == 40, "round \(round)")
            #expect(try harness.entity("INVENTORY_POSITION", "OWN-CAT-B")?.attributes["onHand"] == 40, "round \(round)")
            #expect(try harness.entity("INVENTORY_POSITION", "SHARED-\(round)")?.attributes["onHand"] == 1, "round \(round)")
            for event in events {
                let snapshots = try harness.caused(by: event.id).filter { $0.category == AuditCategory.snapshot }
                #expect(snapshots.count <= 1, "round \(round)")
            }
        }
    }
}

/// Events in the order their commit was announced.
final class AcceptedLog: @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [Event] = []

    func append(_ event: Event) {
        condition.lock()
        events.append(event)
        condition.broadcast()
        condition.unlock()
    }

    func waitForCount(_ count: Int, seconds: Double = 30) -> [Event] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(seconds)
        while events.count < count && condition.wait(until: deadline) {}
        return events
    }
}
