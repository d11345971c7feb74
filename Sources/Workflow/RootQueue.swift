import EventStore

/// The root entity an event belongs to: events of one root run one at a time, in order.
public struct RootKey: Hashable, Sendable, CustomStringConvertible {
    public var retailerId: String
    public var type: String
    public var ref: String

    /// Creates the key of the root named by the event's context. An event without a root is its own root.
    ///
    /// NOTE: an event that names its root (or itself, as a root) by id only gets a key of the
    /// id, so it is ordered apart from events that name the same root by ref. Send refs
    /// when the order between such events matters.
    public init(of event: Event) {
        let context = event.context
        retailerId = event.retailerId
        type = context.rootEntityType ?? context.entityType ?? ""
        let isOwnRoot = type == context.entityType
        if let rootRef = context.rootEntityRef ?? (isOwnRoot ? context.entityRef : nil) {
            ref = rootRef
        } else {
            ref = Self.idPrefix + (context.rootEntityId ?? (isOwnRoot ? context.entityId : nil) ?? "")
        }
    }

    /// Starts `ref` when the event names its root by id only.
    static let idPrefix = "id:"

    public var description: String {
        "\(type)/\(ref) of retailer \(retailerId)"
    }
}

/// An event taken for execution, with what the execution must know about its root.
struct TakenEvent {
    var event: Event
    var root: RootKey
    /// The root's generation when taken; a write fails as stale when it changed since.
    var generation: Int
    /// Entities as the root's executions that are not committed yet left them.
    var layer: [EntityKey: Entity]
}

/// Per-root FIFO queues and the roots ready to run, as a plain value that the engine guards
/// with a lock.
///
/// One event of a root executes at a time, in accepted order. The next one may execute before
/// the previous one committed (up to `maxUncommitted` per root): it reads the previous
/// executions' entity changes from the root's `layer`, and the writer commits them in order.
/// When a write fails, the root's generation changes, the writes computed on top of it fail
/// as stale, their events come back to the front of the queue, and the root runs again once
/// nothing of it is in flight.
///
/// A root with a queued sync event (of `/event/sync`) runs before the other ready roots, until
/// that event is taken: a client waits for it, so it waits behind its own root's events only.
struct RootQueue {
    struct RootState {
        var queue = EventFIFO()
        /// Stale events to run again before `queue`, in their original order.
        var retry: [Event] = []
        var executing = false
        var uncommitted = 0
        var blocked = false
        var generation = 0
        var layer: [EntityKey: Entity] = [:]

        var hasWork: Bool { !retry.isEmpty || !queue.isEmpty }
        var isIdle: Bool { !hasWork && !executing && uncommitted == 0 }
    }

    let maxUncommitted: Int
    private var roots: [RootKey: RootState] = [:]
    private var ready = KeyFIFO()
    /// Ready roots with a sync event queued, taken before `ready`. A root may be in both; the
    /// entry popped second finds it running or idle and is skipped.
    private var urgent = KeyFIFO()
    private var urgentSet: Set<RootKey> = []
    private var readySet: Set<RootKey> = []
    /// Sync events queued or in flight, and per root the number of them queued (not taken).
    private var syncEventIDs: Set<String> = []
    private var syncEventsPerRoot: [RootKey: Int] = [:]
    /// Ids of events taken and not finished or put back.
    private var takenIDs: Set<String> = []
    /// Ids of events queued or in flight, so an event reloaded and also announced runs once.
    private var known: Set<String> = []

    private(set) var queuedCount = 0

    init(maxUncommitted: Int = 64) {
        self.maxUncommitted = maxUncommitted
    }

    /// Whether the event with `id` is queued or in flight.
    func isKnown(_ id: String) -> Bool {
        known.contains(id)
    }

    /// Appends `event` to its root's queue; with `forSync`, the root runs before the other ready
    /// roots until the event is taken. Returns false when the event is queued or in flight already.
    @discardableResult
    ///
    /// An event queued already (read back from the database before its sync request's call) or
    /// in flight becomes a sync event with `forSync`, but is not queued again.
    mutating func enqueue(_ event: Event, forSync: Bool = false) -> Bool {
        let root = RootKey(of: event)
        guard known.insert(event.id).inserted else {
            if forSync && syncEventIDs.insert(event.id).inserted && !takenIDs.contains(event.id) {
                syncEventsPerRoot[root, default: 0] += 1
                markReadyIfPossible(root)
            }
            return false
        }
        roots[root, default: RootState()].queue.append(event)
        queuedCount += 1
        if forSync {
            syncEventIDs.insert(event.id)
            syncEventsPerRoot[root, default: 0] += 1
        }
        markReadyIfPossible(root)
        return true
    }

    /// Takes the next event of the next ready root and marks the root executing.
    mutating func take() -> TakenEvent? {
        while let root = nextReadyRoot() {
            readySet.remove(root)
            guard var state = roots.removeValue(forKey: root) else { continue }
            guard canRun(state) else {
                roots[root] = state
                continue
            }
            let event: Event
            if !state.retry.isEmpty {
                event = state.retry.removeFirst()
            } else if let next = state.queue.popFirst() {
                event = next
            } else {
                roots[root] = state
                continue
            }
            queuedCount -= 1
            takenIDs.insert(event.id)
            if syncEventIDs.contains(event.id) {
                let left = (syncEventsPerRoot[root] ?? 1) - 1
                syncEventsPerRoot[root] = left > 0 ? left : nil
            }
            state.executing = true
            roots[root] = state
            return TakenEvent(event: event, root: root, generation: state.generation, layer: state.layer)
        }
        return nil
    }

    /// Records that the executing event's outcome is about to be submitted: the root's layer
    /// takes its entity writes (at the versions they will have once committed). An outcome
    /// computed before the root's generation changed is stale: its write will fail, so its
    /// entity writes stay out of the layer, where the events run next would read them.
    mutating func willSubmit(_ root: RootKey, generation: Int, writes: [EntityWrite]) {
        guard var state = roots[root] else { return }
        state.uncommitted += 1
        guard state.generation == generation else {
            roots[root] = state
            return
        }
        for write in writes {
            var entity = write.entity
            entity.version = write.isNew ? 1 : entity.version + 1
            state.layer[entity.key] = entity
        }
        roots[root] = state
    }

    /// Records that the outcome was handed to the writer: the root may execute its next event.
    mutating func didSubmit(_ root: RootKey) {
        roots[root]?.executing = false
        markReadyIfPossible(root)
    }

    /// Ends an event whose write committed, or that will not run again (processed already,
    /// or its failure could not be stored).
    mutating func finish(_ event: Event, root: RootKey) {
        known.remove(event.id)
        takenIDs.remove(event.id)
        syncEventIDs.remove(event.id)
        settle(root)
    }

    /// Puts back an event whose write was stale, to run again before the root's queued events.
    mutating func requeue(_ event: Event, root: RootKey) {
        roots[root, default: RootState()].retry.append(event)
        queuedCount += 1
        takenIDs.remove(event.id)
        if syncEventIDs.contains(event.id) {
            syncEventsPerRoot[root, default: 0] += 1
        }
        settle(root)
    }

    /// Marks the root's in-flight writes stale after a failed write.
    mutating func invalidate(_ root: RootKey) {
        guard var state = roots[root] else { return }
        state.generation += 1
        state.blocked = true
        roots[root] = state
    }

    func isCurrent(_ root: RootKey, generation: Int) -> Bool {
        (roots[root]?.generation ?? 0) == generation
    }

    var hasReady: Bool { !ready.isEmpty || !urgent.isEmpty }

    private mutating func settle(_ root: RootKey) {
        guard var state = roots[root] else { return }
        state.uncommitted -= 1
        if state.uncommitted == 0 {
            state.layer.removeAll()
            state.blocked = false
        }
        if state.isIdle && !state.blocked {
            roots[root] = nil
            return
        }
        roots[root] = state
        markReadyIfPossible(root)
    }

    private func canRun(_ state: RootState) -> Bool {
        state.hasWork && !state.executing && !state.blocked && state.uncommitted < maxUncommitted
    }

    /// Puts a root that can run in `urgent` when it has a sync event queued, even when it is in
    /// `ready` already, and otherwise in `ready`.
    private mutating func markReadyIfPossible(_ root: RootKey) {
        guard let state = roots[root], canRun(state) else { return }
        if syncEventsPerRoot[root] != nil {
            readySet.insert(root)
            if urgentSet.insert(root).inserted { urgent.append(root) }
        } else if readySet.insert(root).inserted {
            ready.append(root)
        }
    }

    private mutating func nextReadyRoot() -> RootKey? {
        if let root = urgent.popFirst() {
            urgentSet.remove(root)
            return root
        }
        return ready.popFirst()
    }
}

/// A FIFO of events with O(1) pop, for roots with long queues (a feed of one catalogue).
struct EventFIFO {
    private var items: [Event] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func append(_ event: Event) {
        items.append(event)
    }

    mutating func popFirst() -> Event? {
        guard head < items.count else { return nil }
        let event = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 256 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return event
    }
}

/// A FIFO of root keys with O(1) pop.
struct KeyFIFO {
    private var items: [RootKey] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func append(_ key: RootKey) {
        items.append(key)
    }

    mutating func popFirst() -> RootKey? {
        guard head < items.count else { return nil }
        let key = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return key
    }
}
