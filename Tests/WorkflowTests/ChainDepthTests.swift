import EventStore
import Foundation
import JSON
import Testing
@testable import Workflow

/// Loops that leave the execution: events queued for another root and scheduled events carry
/// a stored chain depth, so the engine stops them like an inline loop.
@Suite struct ChainDepthTests {
    static let pingA = """
    {"retailerId": "1", "version": "1", "name": "PINGA::T", "entityType": "PINGA", "entitySubtype": "T",
     "statuses": [{"name": "CREATED", "entityType": "PINGA"}],
     "rulesets": [
       {"name": "Ping", "type": "PINGA", "rules": [
         {"name": "ACME.core.SendEvent", "props": {"eventName": "Ping", "entityType": "PINGB", "entityRef": "B1",
                                                   "rootEntityType": "PINGB", "rootEntityRef": "B1"}}],
        "triggers": [], "userActions": []},
       {"name": "Tock", "type": "PINGA", "rules": [{"name": "ACME.core.ScheduleEvent", "props": {"eventName": "Tock", "delay": 0}}],
        "triggers": [], "userActions": []},
       {"name": "Finish", "type": "PINGA", "rules": [{"name": "ACME.core.Log", "props": {"message": "finished"}}],
        "triggers": [], "userActions": []}
     ]}
    """
    static let pingB = """
    {"retailerId": "1", "version": "1", "name": "PINGB::T", "entityType": "PINGB", "entitySubtype": "T",
     "statuses": [{"name": "CREATED", "entityType": "PINGB"}],
     "rulesets": [
       {"name": "Ping", "type": "PINGB", "rules": [
         {"name": "ACME.core.SendEvent", "props": {"eventName": "Ping", "entityType": "PINGA", "entityRef": "A1",
                                                   "rootEntityType": "PINGA", "rootEntityRef": "A1"}}],
        "triggers": [], "userActions": []}
     ]}
    """
    static let maxChainDepth = 8

    static func harness(directory: String? = nil, start: Bool = true) throws -> EngineHarness {
        try EngineHarness(directory: directory, workflows: [WorkflowFixtures.workflow(pingA), WorkflowFixtures.workflow(pingB)],
                          configure: { $0.limits = ExecutionLimits(maxInlineEvents: 100, maxChainDepth: maxChainDepth) },
                          start: start)
    }

    /// Returns the ORCHESTRATION events named `name`, oldest first.
    static func events(named name: String, in harness: EngineHarness) throws -> [Event] {
        try harness.store.read { connection in
            var ids: [String] = []
            try connection.query("SELECT id FROM events WHERE name = ? AND type = ?", [.text(name), .text(EventType.orchestration)]) { row in
                ids.append(EventIDText.text(row.bytes(0)))
            }
            return try ids.compactMap { try EventRecords.fetch(id: $0, on: connection) }
        }.sorted { $0.id < $1.id }
    }

    /// Polls until an event named `name` is FAILED; returns the events of that name.
    static func waitForFailure(named name: String, in harness: EngineHarness, seconds: Double = 20) throws -> [Event] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let events = try events(named: name, in: harness)
            if events.contains(where: { $0.eventStatus == EventStatus.failed }) { return events }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw TestFailure("no \(name) event FAILED within \(seconds) s")
    }

    @Test func crossRootPingPongStops() throws {
        let harness = try Self.harness()
        defer { harness.close() }

        try harness.post(WorkflowFixtures.event("Ping", type: "PINGA", ref: "A1", subtype: "T"))
        let pings = try Self.waitForFailure(named: "Ping", in: harness)

        // Depths 0 to 8 ran; the event at depth 8 failed instead of sending a ninth hop.
        #expect(pings.count == Self.maxChainDepth + 1)
        #expect(pings.map(\.chainDepth) == Array(0...Self.maxChainDepth))
        #expect(pings.filter { $0.eventStatus == EventStatus.complete }.count == Self.maxChainDepth)
        let failed = try #require(pings.last)
        #expect(failed.eventStatus == EventStatus.failed)
        #expect(failed.context.entityType == "PINGA")

        let audits = try harness.caused(by: failed.id)
        #expect(audits.count == 1)
        let audit = try #require(audits.first)
        #expect(audit.name == "ExecutionLimitExceeded")
        #expect(audit.auditValue("limit") == .string("maxChainDepth"))
        let message = audit.auditValue("message")?.stringValue ?? ""
        #expect(message.contains("ruleset Ping sends Ping on PINGB/B1 again, which is a loop"))
        #expect(message.contains("Ping on PINGA/A1 -> Ping on PINGB/B1"))
        let chain = audit.auditValue("chain")?.arrayValue ?? []
        #expect(chain.count == Self.maxChainDepth + 1)
        #expect(chain.last == .string("Ping on PINGB/B1"))
    }

    @Test func queueDrainsAfterLoopStops() throws {
        let harness = try Self.harness()
        defer { harness.close() }

        try harness.post(WorkflowFixtures.event("Ping", type: "PINGA", ref: "A1", subtype: "T"))
        let others = (0..<5).map { WorkflowFixtures.event("Finish", type: "PINGA", ref: "F-\($0)", subtype: "T") }
        try harness.post(others)
        _ = try Self.waitForFailure(named: "Ping", in: harness)

        #expect(try harness.waitUntilProcessed(others.map(\.id)))
        for event in others {
            #expect(try harness.status(of: event.id) == EventStatus.complete)
        }
    }

    @Test func selfSchedulingEventStops() throws {
        let harness = try Self.harness()
        defer { harness.close() }

        try harness.post(WorkflowFixtures.event("Tock", type: "PINGA", ref: "T1", subtype: "T"))
        let tocks = try Self.waitForFailure(named: "Tock", in: harness)

        #expect(tocks.count == Self.maxChainDepth + 1)
        #expect(tocks.filter { $0.eventStatus == EventStatus.complete }.count == Self.maxChainDepth)
        let failed = try #require(tocks.last)
        let audit = try #require(try harness.caused(by: failed.id).first)
        #expect(audit.name == "ExecutionLimitExceeded")
        #expect(audit.auditValue("message")?.stringValue?.contains("ruleset Tock sends Tock on PINGA/T1 again, which is a loop") == true)
    }

    /// A PENDING event reloaded at start keeps its depth, so a loop cut by a restart still stops.
    @Test func chainDepthSurvivesRestart() throws {
        let harness = try Self.harness(start: false)
        defer { harness.close() }

        var deep = WorkflowFixtures.event("Ping", type: "PINGA", ref: "A1", subtype: "T")
        deep.chainDepth = Self.maxChainDepth
        try harness.post([deep], announce: false)
        #expect(try harness.event(deep.id)?.chainDepth == Self.maxChainDepth)

        try harness.engine.start()
        #expect(try harness.waitUntilProcessed([deep.id]))
        #expect(try harness.status(of: deep.id) == EventStatus.failed)
        #expect(try Self.events(named: "Ping", in: harness).count == 1)
    }

    @Test func postedEventStartsAtDepthZero() throws {
        let harness = try Self.harness()
        defer { harness.close() }

        let posted = WorkflowFixtures.event("Ping", type: "PINGA", ref: "A1", subtype: "T")
        #expect(posted.chainDepth == 0)
        try harness.post(posted)
        let pings = try Self.waitForFailure(named: "Ping", in: harness)
        let sent = try #require(pings.first { $0.context.sourceEvents == [posted.id] })
        #expect(sent.chainDepth == 1)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
