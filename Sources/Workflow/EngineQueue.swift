import EventStore
import Foundation

/// The engine's in-memory queue: a `RootQueue` behind a lock and a condition variable that
/// worker threads wait on, plus the sync waiters and the count of executions not yet committed.
final class EngineQueue: @unchecked Sendable {
    init(maxUncommittedPerRoot: Int) {
        roots = RootQueue(maxUncommitted: maxUncommittedPerRoot)
    }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var roots: RootQueue

    private var waiters: [String: [SyncWaiter]] = [:]
    private var stopping = false
    private var inFlight = 0

    /// Queues events; returns how many were new.
    @discardableResult
    func enqueue(_ events: [Event]) -> Int {
        condition.lock()
        defer { condition.unlock() }
        var added = 0
        for event in events where roots.enqueue(event) {
            added += 1
        }
        // One waiting worker per new event is enough; waking all of them costs context switches.
        for _ in 0..<min(added, 8) {
            condition.signal()
        }
        return added
    }

    /// Waits for the next event of a ready root; returns nil once the engine is stopping.
    func take() -> TakenEvent? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if stopping { return nil }
            if let taken = roots.take() {
                inFlight += 1
                return taken
            }
            condition.wait()
        }
    }

    /// Adds an outcome's entity writes to its root's layer, before the outcome is submitted.
    func willSubmit(_ root: RootKey, generation: Int, writes: [EntityWrite]) {
        condition.lock()
        roots.willSubmit(root, generation: generation, writes: writes)
        condition.unlock()
    }

    /// Lets the root execute its next event, once the outcome is in the writer's queue.
    func didSubmit(_ root: RootKey) {
        condition.lock()
        roots.didSubmit(root)
        if roots.hasReady { condition.signal() }
        condition.unlock()
    }

    /// Ends the execution of `event` after its commit (or when it will not run again) and
    /// returns the sync waiters to notify.
    func finish(_ event: Event, root: RootKey) -> [SyncWaiter] {
        condition.lock()
        defer { condition.unlock() }
        roots.finish(event, root: root)
        inFlight -= 1
        wakeAfterSettling()
        return waiters.removeValue(forKey: event.id) ?? []
    }

    /// Puts back an event whose write was stale; its sync waiters keep waiting.
    func requeue(_ event: Event, root: RootKey) {
        condition.lock()
        roots.requeue(event, root: root)
        inFlight -= 1
        wakeAfterSettling()
        condition.unlock()
    }

    /// Marks the root's writes in flight stale; called on the writer thread when a write failed.
    func invalidate(_ root: RootKey) {
        condition.lock()
        roots.invalidate(root)
        condition.unlock()
    }

    func isCurrent(_ root: RootKey, generation: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return roots.isCurrent(root, generation: generation)
    }

    /// Wakes a worker when a root became ready, and everyone while stopping, when
    /// `waitUntilNothingInFlight` may be waiting. Call it with the lock held.
    private func wakeAfterSettling() {
        if stopping {
            condition.broadcast()
        } else if roots.hasReady {
            condition.signal()
        }
    }

    func addWaiter(_ waiter: SyncWaiter, for eventId: String) {
        condition.lock()
        waiters[eventId, default: []].append(waiter)
        condition.unlock()
    }

    func removeWaiter(_ waiter: SyncWaiter, for eventId: String) {
        condition.lock()
        waiters[eventId]?.removeAll { $0 === waiter }
        if waiters[eventId]?.isEmpty == true { waiters[eventId] = nil }
        condition.unlock()
    }

    /// Makes `take` return nil from now on and returns the sync waiters still waiting.
    func beginStopping() -> [SyncWaiter] {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        let all = waiters.values.flatMap { $0 }
        waiters.removeAll()
        return all
    }

    /// Blocks until every taken event has been committed.
    func waitUntilNothingInFlight() {
        condition.lock()
        while inFlight > 0 {
            condition.wait()
        }
        condition.unlock()
    }

    var counts: (queued: Int, running: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (roots.queuedCount, inFlight)
    }
}
