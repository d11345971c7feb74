import Synchronization

/// A count of slots for work that may run at most `limit` times at once. `acquire` never
/// waits: it fails when every slot is taken, so the caller can send 503 at once instead of
/// holding a worker thread.
public final class ConcurrencyLimit: Sendable {
    public let limit: Int
    private let inUse = Atomic<Int>(0)

    public init(limit: Int) {
        precondition(limit >= 1, "limit must be at least 1, got \(limit)")
        self.limit = limit
    }

    /// Takes a slot and returns true, or returns false when all `limit` slots are taken.
    public func acquire() -> Bool {
        var current = inUse.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = inUse.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives back a slot taken by a successful `acquire`.
    public func release() {
        inUse.subtract(1, ordering: .acquiringAndReleasing)
    }

    /// Slots taken now.
    public var count: Int { inUse.load(ordering: .relaxed) }
}
