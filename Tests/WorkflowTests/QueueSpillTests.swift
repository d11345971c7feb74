import Dispatch
import EventStore
import Foundation
import JSON
import Telemetry
import Testing
@testable import Workflow

/// The engine queue past its memory limit: accepted events wait PENDING in the database and
/// are read back in commit order, and paced workers still run the share they earned.
@Suite struct QueueSpillTests {
    private static func delta(_ position: String, _ value: Int64) -> Event {
        WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: position,
                               rootType: "INVENTORY_CATALOGUE", rootRef: "CAT-\(position)",
                               attributes: JSONObject([("delta", .integer(value)), ("reason", "MOVE")]))
    }

    private func acceptedOrder(_ events: [Event]) -> [String: [String]] {
        var order: [String: [String]] = [:]
        for event in events {
            order[event.context.entityRef!, default: []].append(event.id)
        }
        return order
    }

    private func expectSums(_ harness: EngineHarness, _ events: [Event]) throws {
        var expected: [String: Int64] = [:]
        for event in events {
            expected[event.context.entityRef!, default: 0] += event.attributes["delta"]?.integerValue ?? 0
        }
        for (position, sum) in expected {
            #expect(try harness.entity("INVENTORY_POSITION", position)?.attributes["onHand"]?.integerValue == sum, "\(position)")
        }
    }

    @Test func spilledEventsKeepRootOrder() throws {
        let harness = try EngineHarness {
            $0.workerCount = 4
            $0.queueMemoryLimit = 40
        }
        defer { harness.close() }
        let threads = 8, perThread = 150, positions = 25
        let events = harness.postConcurrently(threads: threads, perThread: perThread) { thread, index in
            Self.delta("SKU-\((thread * 11 + index) % positions)", index % 4 == 0 ? -1 : 1)
        }
        #expect(events.count == threads * perThread)
        #expect(try harness.waitUntilProcessed(events.map(\.id), seconds: 60))

        for event in events {
            #expect(try harness.status(of: event.id) == EventStatus.complete)
        }
        try expectSums(harness, events)
        // One snapshot per event, in accepted order per root: none ran twice or out of turn.
        #expect(try harness.snapshotOrder(entityType: "INVENTORY_POSITION") == acceptedOrder(events))
    }

    @Test func startReadsBacklogInCommitOrder() throws {
        let directory = WorkflowFixtures.temporaryDirectory()
        let stopped = try EngineHarness(directory: directory, start: false)
        // Stored in one order, with generatedOn values in the reverse order: commit order wins.
        var events: [Event] = []
        for index in 0..<300 {
            var event = Self.delta("SKU-\(index % 7)", index % 5 == 0 ? -2 : 1)
            event.generatedOn = 1_800_000_000_000 - Int64(index)
            events.append(event)
        }
        try stopped.post(events, announce: false)
        stopped.close()

        let harness = try EngineHarness(directory: directory) {
            $0.workerCount = 3
            $0.queueMemoryLimit = 16
        }
        defer { harness.close() }
        #expect(try harness.waitUntilProcessed(events.map(\.id), seconds: 60))
        try expectSums(harness, events)
        #expect(try harness.snapshotOrder(entityType: "INVENTORY_POSITION") == acceptedOrder(events))
    }

    @Test func dueScheduledEventsJoinSpilledQueue() throws {
        let harness = try EngineHarness {
            $0.workerCount = 1
            $0.queueMemoryLimit = 4
        }
        defer { harness.close() }
        var events = (0..<40).map { Self.delta("SKU-\($0 % 3)", 1) }
        var scheduled = Self.delta("SKU-LATER", 5)
        scheduled.eventStatus = EventStatus.scheduled
        scheduled.scheduledOn = TimeFormat.nowMilliseconds() + 300
        events.append(scheduled)
        try harness.post(events)
        #expect(try harness.waitUntilProcessed(events.map(\.id), seconds: 30))
        #expect(try harness.entity("INVENTORY_POSITION", "SKU-LATER")?.attributes["onHand"]?.integerValue == 5)
    }

    @Test func pacedWorkerRunsEarnedShare() throws {
        let load = ExecutionPacingTests.FakeLoad()
        let pacing = ExecutionPacing(share: 0.1, busyThreshold: 16, backlogLimit: 1000, load: load.closure)
        let queue = EngineQueue(maxUncommittedPerRoot: 8, maxInFlight: 64, memoryLimit: 100, pacing: pacing,
                                reload: { _, _ in [] }, logger: Logger(label: "test"))
        queue.enqueue((0..<3).map { Self.delta("SKU-\($0)", 1) })
        load.set(waiting: 64, completed: 0)

        let taken = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            while queue.take() != nil {
                taken.signal()
            }
        }
        // Requests press and none completed: nothing may start.
        #expect(taken.wait(timeout: .now() + .milliseconds(100)) == .timedOut)
        // Ten completed requests earn one execution at a share of 0.1.
        load.set(waiting: 64, completed: 10)
        #expect(taken.wait(timeout: .now() + .seconds(5)) == .success)
        #expect(taken.wait(timeout: .now() + .milliseconds(100)) == .timedOut)
        // Once requests stop pressing, the rest runs at once.
        load.set(waiting: 0)
        #expect(taken.wait(timeout: .now() + .seconds(5)) == .success)
        #expect(taken.wait(timeout: .now() + .seconds(5)) == .success)
        _ = queue.beginStopping()
    }
}
