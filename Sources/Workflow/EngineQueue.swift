import EventStore
import Foundation

/// The engine's in-memory queue: a `RootQueue` behind a lock and a condition variable that
/// worker threads wait on, plus the sync waiters and the count of executions not yet committed.
final class EngineQueue: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var roots = RootQueue()
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
        if added > 0 {
            condition.broadcast()
        }
        return added
    }

    /// Waits for the next event of a ready root; returns nil once the engine is stopping.
    func take() -> Event? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if stopping { return nil }
            if let event = roots.take() {
                inFlight += 1
                return event
            }
            condition.wait()
        }
    }

    /// Ends the execution of `event` after its commit (or its failure to commit) and returns
    /// the sync waiters to notify.
    func finish(_ event: Event) -> [SyncWaiter] {
        condition.lock()
        defer { condition.unlock() }
        roots.finish(event)
        inFlight -= 1
        condition.broadcast()
        return waiters.removeValue(forKey: event.id) ?? []
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
