import EventStore
import JSON
import Testing
@testable import Workflow

@Suite struct RootQueueTests {
    private func takeNone(_ queue: inout RootQueue) -> Bool {
        queue.take() == nil
    }

    private func takeNext(_ queue: inout RootQueue) -> TakenEvent? {
        queue.take()
    }

    private func takeID(_ queue: inout RootQueue) -> String? {
        queue.take()?.event.id
    }

    private func event(_ ref: String, root: String) -> Event {
        WorkflowFixtures.event("E", type: "FULFILMENT", ref: ref, rootType: "ORDER", rootRef: root)
    }

    @Test func oneExecutionPerRootInOrder() throws {
        var queue = RootQueue(maxUncommitted: 2)
        let a1 = event("F1", root: "A"), a2 = event("F2", root: "A"), a3 = event("F3", root: "A"), b1 = event("G1", root: "B")
        for item in [a1, a2, a3, b1] {
            let added = queue.enqueue(item)
            #expect(added)
        }
        let duplicate = queue.enqueue(a1)
        #expect(!duplicate)

        let first = try #require(takeNext(&queue))
        #expect(first.event.id == a1.id)
        let second = try #require(takeNext(&queue))
        #expect(second.event.id == b1.id)
        #expect(takeNone(&queue))

        // Submitting lets the root's next event execute before the first one committed.
        queue.willSubmit(first.root, generation: first.generation, writes: [])
        queue.didSubmit(first.root)
        #expect(takeID(&queue) == a2.id)
        queue.willSubmit(first.root, generation: first.generation, writes: [])
        queue.didSubmit(first.root)
        // Two uncommitted: the third waits.
        #expect(takeNone(&queue))
        queue.finish(a1, root: first.root)
        #expect(takeID(&queue) == a3.id)
    }

    @Test func rootOfSyncEventRunsFirst() throws {
        var queue = RootQueue()
        let others = (0..<5).map { event("F\($0)", root: "OTHER-\($0)") }
        let earlier = event("S0", root: "S"), sync = event("S1", root: "S"), later = event("S2", root: "S")
        for item in others + [earlier] { queue.enqueue(item) }
        queue.enqueue(sync, forSync: true)
        queue.enqueue(later)

        // The sync event's root goes ahead of the other roots, and its earlier event first.
        let first = try #require(takeNext(&queue))
        #expect(first.event.id == earlier.id)
        queue.willSubmit(first.root, generation: first.generation, writes: [])
        queue.didSubmit(first.root)
        #expect(takeID(&queue) == sync.id)
        queue.willSubmit(first.root, generation: first.generation, writes: [])
        queue.didSubmit(first.root)

        // Once the sync event is taken, its root waits its turn again.
        #expect(takeID(&queue) == others[0].id)
        var rest: [String] = []
        while let taken = takeNext(&queue) {
            rest.append(taken.event.id)
            queue.willSubmit(taken.root, generation: taken.generation, writes: [])
            queue.didSubmit(taken.root)
        }
        #expect(rest == others.dropFirst().map(\.id) + [later.id])
    }

    @Test func failedWriteRequeuesLaterOnes() throws {
        var queue = RootQueue(maxUncommitted: 8)
        let events = (1...4).map { event("F\($0)", root: "A") }
        for item in events { queue.enqueue(item) }
        var taken: [TakenEvent] = []
        for _ in 0..<3 {
            let next = try #require(takeNext(&queue))
            taken.append(next)
            queue.willSubmit(next.root, generation: next.generation, writes: [])
            queue.didSubmit(next.root)
        }
        let root = taken[0].root
        #expect(queue.isCurrent(root, generation: taken[1].generation))

        // The first write fails: the two after it are stale and come back in order.
        queue.invalidate(root)
        #expect(!queue.isCurrent(root, generation: taken[1].generation))
        #expect(takeNone(&queue))
        queue.requeue(taken[1].event, root: root)
        queue.requeue(taken[2].event, root: root)
        #expect(takeNone(&queue))
        queue.finish(taken[0].event, root: root)

        let retried = try #require(takeNext(&queue))
        #expect(retried.event.id == events[1].id)
        #expect(queue.isCurrent(root, generation: retried.generation))
        #expect(retried.layer.isEmpty)
        queue.willSubmit(root, generation: retried.generation, writes: [])
        queue.didSubmit(root)
        #expect(takeID(&queue) == events[2].id)
        queue.willSubmit(root, generation: retried.generation, writes: [])
        queue.didSubmit(root)
        #expect(takeID(&queue) == events[3].id)
    }

    @Test func layerCarriesUncommittedWrites() throws {
        var queue = RootQueue()
        let first = event("F1", root: "A"), second = event("F2", root: "A")
        queue.enqueue(first)
        queue.enqueue(second)
        let taken = try #require(takeNext(&queue))
        let entity = Entity(retailerId: "1", type: "FULFILMENT", ref: "F1", id: "x", status: "PICKED", rootType: "ORDER",
                            rootRef: "A", createdOn: 1, updatedOn: 1, version: 3)
        queue.willSubmit(taken.root, generation: taken.generation, writes: [EntityWrite(entity: entity, isNew: false)])
        queue.didSubmit(taken.root)
        let next = try #require(takeNext(&queue))
        #expect(next.layer[entity.key]?.status == "PICKED")
        #expect(next.layer[entity.key]?.version == 4)
    }

    @Test func staleOutcomeStaysOutOfLayer() throws {
        var queue = RootQueue()
        let events = (1...3).map { event("F\($0)", root: "A") }
        for item in events { queue.enqueue(item) }
        let first = try #require(takeNext(&queue))
        queue.willSubmit(first.root, generation: first.generation, writes: [])
        queue.didSubmit(first.root)
        let second = try #require(takeNext(&queue))

        // The first write fails while the second event still executes, and the first event
        // comes back before the second is submitted: nothing is uncommitted for a moment.
        queue.invalidate(first.root)
        queue.requeue(first.event, root: first.root)
        let entity = Entity(retailerId: "1", type: "FULFILMENT", ref: "F2", id: "y", status: "PICKED", rootType: "ORDER",
                            rootRef: "A", createdOn: 1, updatedOn: 1, version: 1)
        queue.willSubmit(second.root, generation: second.generation, writes: [EntityWrite(entity: entity, isNew: true)])
        queue.didSubmit(second.root)
        #expect(!queue.isCurrent(second.root, generation: second.generation))

        // The first event runs again while the stale write is still in the writer's queue.
        let retried = try #require(takeNext(&queue))
        #expect(retried.event.id == events[0].id)
        #expect(retried.layer[entity.key] == nil)
    }

    /// A sync event whose write was stale comes back through `requeue`.
    @Test func requeuedSyncEventKeepsPriority() throws {
        var queue = RootQueue()
        let others = (0..<3).map { event("F\($0)", root: "OTHER-\($0)") }
        for item in others { queue.enqueue(item) }
        let earlier = event("S0", root: "S"), sync = event("S1", root: "S")
        queue.enqueue(earlier)
        queue.enqueue(sync, forSync: true)
        let firstTaken = queue.take()
        let first = try #require(firstTaken)
        #expect(first.event.id == earlier.id)
        queue.willSubmit(first.root, generation: first.generation, writes: [])
        queue.didSubmit(first.root)
        let secondTaken = queue.take()
        let second = try #require(secondTaken)
        #expect(second.event.id == sync.id)
        queue.willSubmit(second.root, generation: second.generation, writes: [])
        queue.didSubmit(second.root)

        // The earlier write fails: the sync event's write is stale and comes back.
        queue.invalidate(first.root)
        queue.finish(earlier, root: first.root)
        queue.requeue(sync, root: second.root)

        let next = queue.take()
        #expect(next?.event.id == sync.id)
    }

    /// A root waiting in `ready` while blocked gets a sync event, then unblocks.
    @Test func syncEventOfBlockedReadyRootGoesFirst() throws {
        var queue = RootQueue()
        let a1 = event("S0", root: "S"), a2 = event("S1", root: "S")
        queue.enqueue(a1)
        queue.enqueue(a2)
        let others = (0..<3).map { event("F\($0)", root: "OTHER-\($0)") }
        for item in others { queue.enqueue(item) }
        let firstTaken = queue.take()
        let first = try #require(firstTaken)
        #expect(first.event.id == a1.id)
        queue.willSubmit(first.root, generation: first.generation, writes: [])
        queue.didSubmit(first.root) // S is in `ready` again for a2, behind the other roots.

        queue.invalidate(first.root) // a1's write failed: S is blocked while still in `ready`.
        let sync = event("S2", root: "S")
        queue.enqueue(sync, forSync: true)
        queue.finish(a1, root: first.root) // S unblocks.

        let next = queue.take()
        #expect(next?.event.id == a2.id)
    }

    /// The reload read a sync event before its own enqueue call arrived.
    @Test func syncEventQueuedByReloadGetsPriority() throws {
        var queue = RootQueue()
        let others = (0..<3).map { event("F\($0)", root: "OTHER-\($0)") }
        let sync = event("S0", root: "S")
        for item in others + [sync] { queue.enqueue(item) }
        queue.enqueue(sync, forSync: true)

        let next = queue.take()
        #expect(next?.event.id == sync.id)
    }
}
