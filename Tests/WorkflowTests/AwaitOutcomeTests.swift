import EventStore
import Foundation
import JSON
import Testing
@testable import Workflow

/// `WorkflowEngine.awaitOutcome`, which a `/event/sync` retry uses to wait for the event that
/// the first request with its `Idempotency-Key` stored.
@Suite struct AwaitOutcomeTests {
    static func awaitOutcome(_ harness: EngineHarness, _ eventId: String, timeoutMilliseconds: Int = 10_000) -> SyncExecutionResult {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        harness.engine.awaitOutcome(of: eventId, timeoutMilliseconds: timeoutMilliseconds) { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return box.result!
    }

    @Test func pendingEventIsAwaited() throws {
        let harness = try ChainDepthTests.harness(start: false)
        defer { harness.close() }

        let event = WorkflowFixtures.event("Finish", type: "PINGA", ref: "W1", subtype: "T")
        try harness.post([event], announce: false)
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        harness.engine.awaitOutcome(of: event.id, timeoutMilliseconds: 10_000) { result in
            box.result = result
            done.signal()
        }
        try harness.engine.start()
        done.wait()

        guard case .processed(let report) = box.result else {
            Issue.record("expected a processed result, got \(String(describing: box.result))")
            return
        }
        #expect(report.eventId == event.id)
        #expect(report.status == EventStatus.complete)
        #expect(report.entityId == (try harness.entity("PINGA", "W1"))?.id)
    }

    @Test func processedEventIsReadBack() throws {
        let harness = try ChainDepthTests.harness()
        defer { harness.close() }

        let complete = WorkflowFixtures.event("Finish", type: "PINGA", ref: "R1", subtype: "T")
        let noMatch = WorkflowFixtures.event("Unknown", type: "PINGA", ref: "R2", subtype: "T")
        var failed = WorkflowFixtures.event("Ping", type: "PINGA", ref: "R3", subtype: "T")
        failed.chainDepth = ChainDepthTests.maxChainDepth
        try harness.post([complete, noMatch, failed])
        #expect(try harness.waitUntilProcessed([complete.id, noMatch.id, failed.id]))

        let cases: [(Event, String, String?)] = [
            (complete, EventStatus.complete, nil),
            (noMatch, EventStatus.noMatch, "no NORMAL ruleset named Unknown"),
            (failed, EventStatus.failed, "max chain depth of \(ChainDepthTests.maxChainDepth)"),
        ]
        for (event, status, message) in cases {
            guard case .processed(let report) = Self.awaitOutcome(harness, event.id, timeoutMilliseconds: 0) else {
                Issue.record("event \(event.name) was not read back as processed")
                continue
            }
            #expect(report.status == status)
            #expect(report.entityId != nil)
            if let message {
                #expect(report.errorMessage?.contains(message) == true, "\(event.name): \(report.errorMessage ?? "nil")")
            } else {
                #expect(report.errorMessage == nil)
            }
        }
    }

    @Test func unknownEventIsRejected() throws {
        let harness = try ChainDepthTests.harness()
        defer { harness.close() }

        let result = Self.awaitOutcome(harness, EventID.make(), timeoutMilliseconds: 1_000)
        guard case .rejected(let reason) = result else {
            Issue.record("expected a rejection, got \(result)")
            return
        }
        #expect(reason.contains("is not stored"))
    }

    @Test func pendingEventTimesOut() throws {
        let harness = try ChainDepthTests.harness(start: false)
        defer { harness.close() }

        let event = WorkflowFixtures.event("Finish", type: "PINGA", ref: "T1", subtype: "T")
        try harness.post([event], announce: false)
        #expect(Self.awaitOutcome(harness, event.id, timeoutMilliseconds: 50) == .timedOut(eventId: event.id))
    }
}
