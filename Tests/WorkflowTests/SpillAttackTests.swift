import Dispatch
import EventStore
import Foundation
import JSON
import Synchronization
import Telemetry
import Testing
@testable import Workflow

/// Hard cases of the spilled queue and of execution pacing. While accepted events wait in the
/// database: stale writes, due SCHEDULED events, follow-up events and sync waiters. A reload
/// that fails or is cut short by `stop`. Paced workers that must neither starve nor sleep
/// through new events.
@Suite struct SpillAttackTests {
    private static func delta(_ position: String, _ value: Int64 = 1, root: String? = nil) -> Event {
        WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: position,
                               rootType: "INVENTORY_CATALOGUE", rootRef: root ?? "CAT-\(position)",
                               attributes: JSONObject([("delta", .integer(value)), ("reason", "MOVE")]))
    }

    /// Builds a queue directly, with the given reload and, unless given, pacing turned off.
    private static func queue(memoryLimit: Int = 100, pacing: ExecutionPacing? = nil,
                              reload: @escaping EngineQueue.Reload = { _, _ in [] }) -> EngineQueue {
        let idle = ExecutionPacingTests.FakeLoad()
        let pacing = pacing ?? ExecutionPacing(isEnabled: false, share: 0.01, busyThreshold: 16, backlogLimit: 1000,
                                               load: idle.closure)
        return EngineQueue(maxUncommittedPerRoot: 8, maxInFlight: 64, memoryLimit: memoryLimit, pacing: pacing,
                           reload: reload, logger: Logger(label: "test"))
    }

    /// Ends a taken event as a commit would: submitted, then finished.
    private static func complete(_ taken: TakenEvent, in queue: EngineQueue) {
        queue.willSubmit(taken.root, generation: taken.generation, writes: [])
        queue.didSubmit(taken.root)
        _ = queue.finish(taken.event, root: taken.root)
    }

    /// Counts the snapshot audits of each source event.
    private func snapshotCounts(_ harness: EngineHarness) throws -> [String: Int] {
        let snapshots = try harness.store.read { connection in
            try EventRecords.list(EventQuery(category: AuditCategory.snapshot, eventType: EventType.orchestrationAudit,
                                             count: 1_000_000), on: connection).results
        }
        var counts: [String: Int] = [:]
        for snapshot in snapshots {
            counts[snapshot.context.sourceEvents.first ?? "", default: 0] += 1
        }
        return counts
    }

    // MARK: - Pacing

    @Test func pacedQueueWakesWorkerForNewEvent() throws {
        let load = ExecutionPacingTests.FakeLoad()
        let pacing = ExecutionPacing(share: 1, busyThreshold: 16, backlogLimit: 1000, load: load.closure)
        let queue = Self.queue(pacing: pacing)
        defer { _ = queue.beginStopping() }

        // Requests press and one execution is earned: the last queued event runs paced.
        load.set(waiting: 64, completed: 10)
        queue.enqueue([Self.delta("SKU-1")])
        let first = try #require(queue.take())
        Self.complete(first, in: queue)
        #expect(queue.isPacing)

        // A worker now waits on an empty queue. The burst ends and one more event arrives.
        let taken = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            while let next = queue.take() {
                Self.complete(next, in: queue)
                taken.signal()
            }
        }
        Thread.sleep(forTimeInterval: 0.05)
        load.set(waiting: 0)
        queue.enqueue([Self.delta("SKU-2")])
        #expect(taken.wait(timeout: .now() + .seconds(2)) == .success, "the waiting worker was never woken")
    }

    @Test func endlessPressureStillRunsEarnedShare() {
        let load = ExecutionPacingTests.FakeLoad()
        let pacing = ExecutionPacing(share: 0.01, busyThreshold: 16, backlogLimit: 100_000, load: load.closure)
        let queue = Self.queue(pacing: pacing)
        defer { _ = queue.beginStopping() }
        queue.enqueue((0..<200).map { Self.delta("SKU-\($0 % 10)") })
        load.set(waiting: 1_000, completed: 0)

        let takenCount = Atomic<Int>(0)
        Thread.detachNewThread {
            while let next = queue.take() {
                Self.complete(next, in: queue)
                takenCount.add(1, ordering: .relaxed)
            }
        }
        // Requests never stop pressing. Each 100 completed requests earn one execution at a
        // share of 0.01, and each earned execution must start.
        var completed = 0
        for step in 1...40 {
            completed += 100
            load.set(waiting: 1_000, completed: completed)
            let deadline = Date().addingTimeInterval(2)
            while takenCount.load(ordering: .relaxed) < step && Date() < deadline {
                usleep(500)
            }
            #expect(takenCount.load(ordering: .relaxed) == step, "step \(step)")
        }
        // Nothing more than earned starts.
        usleep(50_000)
        #expect(takenCount.load(ordering: .relaxed) == 40)
    }

    @Test func pacingOffNeverWaits() {
        let load = ExecutionPacingTests.FakeLoad()
        let pacing = ExecutionPacing(isEnabled: false, share: 0.01, busyThreshold: 16, backlogLimit: 1000, load: load.closure)
        let queue = Self.queue(memoryLimit: 1_000, pacing: pacing)
        defer { _ = queue.beginStopping() }
        // Requests press and none completes: with pacing on, nothing could start.
        load.set(waiting: 10_000, completed: 0)
        queue.enqueue((0..<500).map { Self.delta("SKU-\($0 % 50)") })

        let started = Date()
        var taken = 0
        while taken < 500, Date().timeIntervalSince(started) < 5, let next = queue.take() {
            Self.complete(next, in: queue)
            taken += 1
        }
        #expect(taken == 500)
        #expect(!queue.isPacing)
    }

    @Test func startBacklogPastLimitRunsUnpaced() throws {
        // A restart finds more PENDING events than the backlog limit while requests press:
        // executions must catch up, as they do for a backlog built while running.
        let pending = FakePending()
        let events = (0..<60).map { Self.delta("SKU-\($0 % 6)") }
        pending.insert(events)
        let load = ExecutionPacingTests.FakeLoad()
        load.set(waiting: 1_000, completed: 0)
        let pacing = ExecutionPacing(share: 0.01, busyThreshold: 16, backlogLimit: 20, load: load.closure)
        let queue = Self.queue(memoryLimit: 4, pacing: pacing, reload: { try pending.read(after: $0, limit: $1) })
        defer { _ = queue.beginStopping() }
        queue.startSpilled(leftInStore: events.count)

        let takenCount = Atomic<Int>(0)
        Thread.detachNewThread {
            while let next = queue.take() {
                pending.markProcessed(next.event.id)
                Self.complete(next, in: queue)
                takenCount.add(1, ordering: .relaxed)
            }
        }
        // Past the limit nothing is paced, until the backlog is under half of it (10 events).
        let deadline = Date().addingTimeInterval(3)
        while takenCount.load(ordering: .relaxed) < 50 && Date() < deadline {
            usleep(1_000)
        }
        #expect(takenCount.load(ordering: .relaxed) >= 40, "the backlog read at start was paced")
    }

    // MARK: - Reloads

    /// PENDING events in memory, read as `pendingOrchestrationEvents` reads the database.
    final class FakePending: @unchecked Sendable {
        private let lock = NSLock()
        private var rows: [(rowid: Int64, event: Event, pending: Bool)] = []
        var failuresLeft = 0
        private(set) var reloadCount = 0

        func insert(_ events: [Event]) {
            lock.withLock {
                for event in events {
                    rows.append((Int64(rows.count + 1), event, true))
                }
            }
        }

        func markProcessed(_ id: String) {
            lock.withLock {
                if let index = rows.firstIndex(where: { $0.event.id == id }) { rows[index].pending = false }
            }
        }

        func read(after cursor: Int64?, limit: Int) throws -> [(rowid: Int64, event: Event)] {
            try lock.withLock {
                reloadCount += 1
                if failuresLeft > 0 {
                    failuresLeft -= 1
                    throw TestFailure("the database is locked")
                }
                let start = cursor ?? 0
                return Array(rows.filter { $0.pending && $0.rowid > start }.prefix(limit).map { ($0.rowid, $0.event) })
            }
        }
    }

    @Test func failedReloadIsRetriedInOrder() throws {
        let pending = FakePending()
        let events = (0..<30).map { Self.delta("SKU-\($0 % 3)") }
        pending.insert(events)
        pending.failuresLeft = 1
        let queue = Self.queue(memoryLimit: 4, reload: { try pending.read(after: $0, limit: $1) })
        defer { _ = queue.beginStopping() }
        queue.startSpilled()

        var order: [String] = []
        let deadline = Date().addingTimeInterval(5)
        while order.count < events.count && Date() < deadline, let next = queue.take() {
            order.append(next.event.id)
            pending.markProcessed(next.event.id)
            Self.complete(next, in: queue)
        }
        #expect(pending.reloadCount >= 2)
        #expect(order.count == events.count)
        #expect(Set(order).count == order.count, "an event ran twice")
        for position in 0..<3 {
            let expected = events.filter { $0.context.entityRef == "SKU-\(position)" }.map(\.id)
            #expect(order.filter { expected.contains($0) } == expected, "SKU-\(position)")
        }
    }

    @Test func stopDuringReloadReturnsNil() {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let events = (0..<10).map { Self.delta("SKU-\($0)") }
        let queue = Self.queue(memoryLimit: 4, reload: { _, limit in
            entered.signal()
            release.wait()
            return events.prefix(limit).enumerated().map { (Int64($0.offset + 1), $0.element) }
        })
        queue.startSpilled()

        let takenId = Mutex<String?>(nil)
        let returned = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let taken = queue.take()
            takenId.withLock { $0 = taken?.event.id }
            returned.signal()
        }
        #expect(entered.wait(timeout: .now() + .seconds(2)) == .success)
        _ = queue.beginStopping()
        release.signal()
        #expect(returned.wait(timeout: .now() + .seconds(2)) == .success)
        #expect(takenId.withLock { $0 } == nil, "take returned an event after stop")
        queue.waitUntilNothingInFlight()
    }

    @Test func stopDuringFailingReloadIsPrompt() {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let queue = Self.queue(memoryLimit: 4, reload: { _, _ in
            entered.signal()
            release.wait()
            throw TestFailure("disk I/O error")
        })
        queue.startSpilled()

        let returned = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = queue.take()
            returned.signal()
        }
        #expect(entered.wait(timeout: .now() + .seconds(2)) == .success)
        _ = queue.beginStopping()
        release.signal()
        // The worker must not sleep out the retry delay once the engine is stopping.
        #expect(returned.wait(timeout: .now() + .milliseconds(500)) == .success)
    }

    // MARK: - Engine

    @Test func staleWritesWhileSpilled() throws {
        for round in 0..<3 {
            let harness = try EngineHarness {
                $0.workerCount = 4
                $0.queueMemoryLimit = 4
            }
            defer { harness.close() }
            var events: [Event] = []
            for root in ["CAT-A", "CAT-B"] {
                events.append(Self.delta("SHARED-\(round)", root: root))
                for _ in 0..<40 {
                    events.append(Self.delta("OWN-\(root)", root: root))
                }
            }
            try harness.post(events)
            #expect(try harness.waitUntilProcessed(events.map(\.id)), "round \(round)")

            let statuses = try events.map { try harness.status(of: $0.id) }
            #expect(statuses.filter { $0 == EventStatus.failed }.count == 1, "round \(round)")
            #expect(try harness.entity("INVENTORY_POSITION", "OWN-CAT-A")?.attributes["onHand"] == 40, "round \(round)")
            #expect(try harness.entity("INVENTORY_POSITION", "OWN-CAT-B")?.attributes["onHand"] == 40, "round \(round)")
            #expect(try harness.entity("INVENTORY_POSITION", "SHARED-\(round)")?.attributes["onHand"] == 1, "round \(round)")
            let counts = try snapshotCounts(harness)
            for event in events where try harness.status(of: event.id) == EventStatus.complete {
                #expect(counts[event.id] == 1, "round \(round) \(event.id)")
            }
        }
    }

    @Test func scheduledEventDueWhileSpilled() throws {
        let harness = try EngineHarness {
            $0.workerCount = 2
            $0.queueMemoryLimit = 4
        }
        defer { harness.close() }
        // The scheduled event shares a position and root with the spilled events.
        var events = (0..<300).map { Self.delta("SKU-\($0 % 2)", 1, root: "CAT-ONE") }
        var scheduled = Self.delta("SKU-0", 1000, root: "CAT-ONE")
        scheduled.eventStatus = EventStatus.scheduled
        scheduled.scheduledOn = TimeFormat.nowMilliseconds() + 50
        events.insert(scheduled, at: 10)
        try harness.post(events)
        #expect(try harness.waitUntilProcessed(events.map(\.id), seconds: 30))

        #expect(try harness.entity("INVENTORY_POSITION", "SKU-0")?.attributes["onHand"]?.integerValue == 1150)
        #expect(try harness.entity("INVENTORY_POSITION", "SKU-1")?.attributes["onHand"]?.integerValue == 150)
        let counts = try snapshotCounts(harness)
        for event in events {
            #expect(counts[event.id] == 1, "\(event.id)")
        }
    }

    /// A SCHEDULED event already due when it is accepted, behind events that filled the
    /// queue: stored SCHEDULED, a reload of PENDING events would never find it.
    @Test func scheduledEventDueAtAcceptWhileSpilled() throws {
        let harness = try EngineHarness {
            $0.workerCount = 2
            $0.queueMemoryLimit = 4
        }
        defer { harness.close() }
        var events = (0..<40).map { Self.delta("SKU-\($0 % 2)", 1, root: "CAT-ONE") }
        var scheduled = Self.delta("SKU-0", 1000, root: "CAT-ONE")
        scheduled.eventStatus = EventStatus.scheduled
        scheduled.scheduledOn = TimeFormat.nowMilliseconds() - 1
        events.append(scheduled)
        try harness.post(events)
        #expect(try harness.waitUntilProcessed(events.map(\.id), seconds: 10))

        #expect(try harness.status(of: scheduled.id) == EventStatus.complete)
        #expect(try harness.entity("INVENTORY_POSITION", "SKU-0")?.attributes["onHand"]?.integerValue == 1020)
    }

    /// A source entity whose event changes itself inline and sends its delta to a tally of
    /// another root, queued PENDING.
    static let forwarder = """
    {"retailerId": "1", "version": "1", "name": "SRC::T", "entityType": "SRC", "entitySubtype": "T",
     "statuses": [{"name": "CREATED", "entityType": "SRC"}],
     "rulesets": [
       {"name": "Move", "type": "SRC", "rules": [
         {"name": "ACME.core.SendEvent", "props": {"eventName": "Seen"}},
         {"name": "ACME.core.SendEvent", "props": {"eventName": "Tally", "entityType": "TALLY", "entityRef": "T1",
                                                   "rootEntityType": "TALLY", "rootEntityRef": "T1"}}],
        "triggers": [], "userActions": []},
       {"name": "Seen", "type": "SRC", "rules": [{"name": "ACME.core.AdjustQuantity", "props": {"attribute": "delta", "field": "seen"}}],
        "triggers": [], "userActions": []}
     ]}
    """
    static let tally = """
    {"retailerId": "1", "version": "1", "name": "TALLY::T", "entityType": "TALLY", "entitySubtype": "T",
     "statuses": [{"name": "CREATED", "entityType": "TALLY"}],
     "rulesets": [
       {"name": "Tally", "type": "TALLY", "rules": [{"name": "ACME.core.AdjustQuantity", "props": {"attribute": "delta", "field": "total"}}],
        "triggers": [], "userActions": []}
     ]}
    """

    @Test func followUpEventsWhileSpilled() throws {
        let harness = try EngineHarness(workflows: [WorkflowFixtures.workflow(Self.forwarder), WorkflowFixtures.workflow(Self.tally)],
                                        configure: {
                                            $0.workerCount = 4
                                            $0.queueMemoryLimit = 4
                                        })
        defer { harness.close() }
        let events = harness.postConcurrently(threads: 4, perThread: 60) { thread, index in
            WorkflowFixtures.event("Move", type: "SRC", ref: "S-\((thread * 7 + index) % 9)", subtype: "T",
                                   attributes: JSONObject([("delta", .integer(Int64(index % 5 + 1)))]))
        }
        #expect(events.count == 240)
        #expect(try harness.waitUntilProcessed(events.map(\.id), seconds: 30))

        // Every Tally follow-up is stored, processed, and processed once.
        var tallies: [Event] = []
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            tallies = try ChainDepthTests.events(named: "Tally", in: harness)
            let open = tallies.filter { $0.eventStatus == EventStatus.pending }
            if tallies.count == events.count && open.isEmpty { break }
            usleep(10_000)
        }
        #expect(tallies.count == events.count)
        #expect(tallies.allSatisfy { $0.eventStatus == EventStatus.complete })

        var seen: [String: Int64] = [:]
        var total: Int64 = 0
        for event in events {
            #expect(try harness.status(of: event.id) == EventStatus.complete, "\(event.id)")
            let value = event.attributes["delta"]?.integerValue ?? 0
            seen[event.context.entityRef ?? "", default: 0] += value
            total += value
        }
        for (ref, sum) in seen {
            #expect(try harness.entity("SRC", ref)?.attributes["seen"]?.integerValue == sum, "\(ref)")
        }
        #expect(try harness.entity("TALLY", "T1")?.attributes["total"]?.integerValue == total)
    }

    /// A sync request waits behind its root's events, not behind the whole backlog left in the
    /// database: its root is read ahead, with the root's earlier events first.
    @Test func syncRequestSkipsOtherRootsBacklog() throws {
        let harness = try EngineHarness {
            $0.workerCount = 2
            $0.queueMemoryLimit = 4
        }
        defer { harness.close() }
        let backlog = (0..<1_000).map { Self.delta("SKU-\($0 % 50)", root: "CAT-BUSY-\($0 % 10)") }
        try harness.post(backlog)
        // Earlier events of the sync request's root, left in the database with the backlog.
        let earlier = (0..<3).map { _ in Self.delta("SKU-QUICK", 2, root: "CAT-QUICK") }
        try harness.post(earlier)

        let syncEvent = Self.delta("SKU-QUICK", 5, root: "CAT-QUICK")
        let result = harness.sync(syncEvent, timeoutMilliseconds: 30_000)
        let backlogLeft = try backlog.filter { try harness.status(of: $0.id) == EventStatus.pending }.count

        guard case .processed(let report) = result else {
            Issue.record("the sync request got \(result) instead of its execution")
            return
        }
        #expect(report.status == EventStatus.complete)
        // Without the read ahead, the sync event ran after all 1,000 others.
        #expect(backlogLeft > 0, "the sync request waited for the whole backlog")
        for event in earlier {
            #expect(try harness.status(of: event.id) == EventStatus.complete, "an earlier event of the root ran after the sync one")
        }
        #expect(try harness.entity("INVENTORY_POSITION", "SKU-QUICK")?.attributes["onHand"]?.integerValue == 11)

        #expect(try harness.waitUntilProcessed(backlog.map(\.id), seconds: 60))
        // One snapshot per event, in accepted order per entity: an event read both ahead and
        // with the backlog ran once.
        var accepted: [String: [String]] = [:]
        for event in backlog + earlier + [syncEvent] {
            accepted[event.context.entityRef!, default: []].append(event.id)
        }
        #expect(try harness.snapshotOrder(entityType: "INVENTORY_POSITION") == accepted)
    }

    /// A sync event that a reload reads, as it was accepted during the read, keeps its priority.
    @Test func syncEventReadByReloadGoesFirst() throws {
        let others = (0..<3).map { Self.delta("SKU-\($0)") }
        let sync = Self.delta("SKU-SYNC")
        let box = QueueBox()
        let queue = Self.queue(memoryLimit: 8, reload: { _, _ in
            // Accepted while the read runs, and committed before it, so the read sees it too.
            box.queue?.enqueue([sync], forSync: true)
            return (others + [sync]).enumerated().map { (Int64($0.offset + 1), $0.element) }
        })
        box.queue = queue
        queue.startSpilled(leftInStore: 3)

        let first = try #require(queue.take())
        #expect(first.event.id == sync.id)
    }

    /// A reload read the committed sync event before its insert's completion called
    /// `enqueue(forSync:)`: the call still gives it priority.
    @Test func syncEnqueueAfterReloadGoesFirst() throws {
        let others = (0..<3).map { Self.delta("SKU-\($0)") }
        let sync = Self.delta("SKU-SYNC")
        let queue = Self.queue(memoryLimit: 8, reload: { _, _ in
            (others + [sync]).enumerated().map { (Int64($0.offset + 1), $0.element) }
        })
        defer { _ = queue.beginStopping() }
        queue.startSpilled(leftInStore: 4)
        // The first take runs the reload, which ends the spill.
        let first = try #require(queue.take())
        #expect(first.event.id == others[0].id)

        queue.enqueue([sync], forSync: true)
        let next = try #require(queue.take())
        #expect(next.event.id == sync.id)
    }

    /// A sync event accepted while spilled has its root read ahead up to it. The root's later
    /// events stay in the database for the reload.
    @Test func readAheadStopsAtSyncEvent() throws {
        let earlier = Self.delta("SKU-1", root: "CAT-R"), sync = Self.delta("SKU-2", root: "CAT-R")
        let later = Self.delta("SKU-3", root: "CAT-R")
        let idle = ExecutionPacingTests.FakeLoad()
        let pacing = ExecutionPacing(isEnabled: false, share: 0.01, busyThreshold: 16, backlogLimit: 1000, load: idle.closure)
        let queue = EngineQueue(maxUncommittedPerRoot: 8, maxInFlight: 64, memoryLimit: 8, pacing: pacing,
                                reload: { _, _ in [] }, rootReload: { _ in [earlier, sync, later] }, logger: Logger(label: "test"))
        defer { _ = queue.beginStopping() }
        queue.startSpilled(leftInStore: 2)
        queue.enqueue([sync], forSync: true)

        let first = try #require(queue.take())
        #expect(first.event.id == earlier.id)
        Self.complete(first, in: queue)
        let second = try #require(queue.take())
        #expect(second.event.id == sync.id)
        Self.complete(second, in: queue)
        // `later` stays in the database for the reload, which here finds nothing.
        #expect(queue.counts.queued == 0)
    }

    /// Without a spill, too, a sync request runs before the queued events of other roots.
    @Test func syncRequestSkipsOtherRootsQueue() throws {
        let harness = try EngineHarness { $0.workerCount = 2 }
        defer { harness.close() }
        // One root each: roots take turns, so a new root waits behind one event of each.
        let queued = (0..<1_000).map { Self.delta("SKU-\($0)", root: "CAT-BUSY-\($0)") }
        try harness.post(queued)

        let result = harness.sync(Self.delta("SKU-QUICK", 5, root: "CAT-QUICK"), timeoutMilliseconds: 30_000)
        let queuedLeft = try queued.filter { try harness.status(of: $0.id) == EventStatus.pending }.count
        guard case .processed(let report) = result else {
            Issue.record("the sync request got \(result) instead of its execution")
            return
        }
        #expect(report.status == EventStatus.complete)
        #expect(queuedLeft > 0, "the sync request waited for every queued event")
        #expect(try harness.waitUntilProcessed(queued.map(\.id), seconds: 60))
    }

    @Test func syncWaitersOfSpilledEvents() throws {
        let harness = try EngineHarness {
            $0.workerCount = 2
            $0.queueMemoryLimit = 4
        }
        defer { harness.close() }
        // A backlog that keeps the queue spilled while the sync requests arrive.
        let backlog = (0..<400).map { Self.delta("SKU-\($0 % 4)", root: "CAT-BUSY") }
        try harness.post(backlog)

        let results = Mutex<[SyncExecutionResult]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let result = harness.sync(Self.delta("SYNC-\(index)", root: "CAT-BUSY"), timeoutMilliseconds: 20_000)
            results.withLock { $0.append(result) }
        }
        let all = results.withLock { $0 }
        #expect(all.count == 8)
        for result in all {
            guard case .processed(let report) = result else {
                Issue.record("a sync request got \(result) instead of its execution")
                continue
            }
            #expect(report.status == EventStatus.complete)
        }
        #expect(try harness.waitUntilProcessed(backlog.map(\.id), seconds: 30))
        #expect(try harness.entity("INVENTORY_POSITION", "SKU-0")?.attributes["onHand"]?.integerValue == 100)
    }
}

/// Lets a test's reload closure reach the queue it belongs to.
private final class QueueBox: @unchecked Sendable {
    var queue: EngineQueue?
}
