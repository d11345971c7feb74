import Synchronization

/// The rendered JSON of recently read events whose status is final, for `GET /event/{eventId}`.
///
/// An event in a final status (COMPLETE, FAILED, NO_MATCH, SUCCESS) is never written again:
/// the engine changes a status only from PENDING or SCHEDULED, and no route deletes events. So
/// a cached copy cannot go stale, and a hit skips the SQLite read transaction, whose file locks
/// dominate the cost of a point read when both event loops read at once. PENDING and SCHEDULED
/// events are never cached. Entries are evicted oldest first once `maximumBytes` is exceeded.
final class FinalEventCache: Sendable {
    struct Entry: Sendable {
        let retailerId: String
        let json: [UInt8]
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var orderStart = 0
        var bytes = 0
    }

    static let finalStatuses: Set<String> = ["COMPLETE", "FAILED", "NO_MATCH", "SUCCESS"]

    let maximumBytes: Int
    let maximumEntryBytes: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maximumBytes: the total size of cached JSON, in bytes; 0 turns the cache off.
    ///   - maximumEntryBytes: events whose JSON is larger are not cached, in bytes.
    init(maximumBytes: Int = 8 << 20, maximumEntryBytes: Int = 64 << 10) {
        self.maximumBytes = maximumBytes
        self.maximumEntryBytes = maximumEntryBytes
    }

    func entry(for eventID: String) -> Entry? {
        state.withLock { $0.entries[eventID] }
    }

    /// Stores the JSON of an event read from the database when its status is final.
    func store(eventID: String, retailerId: String, eventStatus: String, json: [UInt8]) {
        guard FinalEventCache.finalStatuses.contains(eventStatus), json.count <= maximumEntryBytes,
              json.count <= maximumBytes else { return }
        state.withLock { state in
            guard state.entries[eventID] == nil else { return }
            state.entries[eventID] = Entry(retailerId: retailerId, json: json)
            state.order.append(eventID)
            state.bytes += json.count

            while state.bytes > maximumBytes, state.orderStart < state.order.count {
                let oldest = state.order[state.orderStart]
                state.orderStart += 1
                if let removed = state.entries.removeValue(forKey: oldest) {
                    state.bytes -= removed.json.count
                }
            }
            // Drops the evicted prefix of the order list once it is most of the list.
            if state.orderStart > 1_024, state.orderStart * 2 > state.order.count {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
        }
    }

    /// The number of cached events and their bytes of JSON.
    var usage: (count: Int, bytes: Int) {
        state.withLock { ($0.entries.count, $0.bytes) }
    }
}
