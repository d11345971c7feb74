import EventStore

/// The root entity an event belongs to: events of one root run one at a time, in order.
public struct RootKey: Hashable, Sendable, CustomStringConvertible {
    public var retailerId: String
    public var type: String
    public var ref: String

    /// The root named by the event's context; an event without a root is its own root.
    public init(of event: Event) {
        let context = event.context
        retailerId = event.retailerId
        type = context.rootEntityType ?? context.entityType ?? ""
        ref = context.rootEntityRef ?? (type == context.entityType ? context.entityRef : nil) ?? ""
    }

    public var description: String {
        "\(type)/\(ref) of retailer \(retailerId)"
    }
}

/// Per-root FIFO queues and the list of roots ready to run, as a plain value: the engine
/// guards it with a lock and its workers take events from it.
///
/// A root is ready when it has queued events and none of its events is running; a root whose
/// event is running comes back to the ready list only when `finish` is called for it, which
/// the engine does after the execution's transaction commits.
struct RootQueue {
    private var queues: [RootKey: EventFIFO] = [:]
    private var ready: [RootKey] = []
    private var readyHead = 0
    private var running: Set<RootKey> = []
    /// Ids of events queued or running, so an event reloaded and also announced runs once.
    private var known: Set<String> = []

    private(set) var queuedCount = 0

    var runningCount: Int { running.count }

    /// Appends `event` to its root's queue. Returns false when the event is queued or running already.
    @discardableResult
    mutating func enqueue(_ event: Event) -> Bool {
        guard known.insert(event.id).inserted else { return false }
        let root = RootKey(of: event)
        let wasEmpty = queues[root]?.isEmpty ?? true
        queues[root, default: EventFIFO()].append(event)
        queuedCount += 1
        if wasEmpty && !running.contains(root) {
            ready.append(root)
        }
        return true
    }

    /// Takes the first event of the next ready root and marks the root running.
    mutating func take() -> Event? {
        guard readyHead < ready.count else { return nil }
        let root = ready[readyHead]
        readyHead += 1
        if readyHead > 1024 && readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
        guard var queue = queues.removeValue(forKey: root), let event = queue.popFirst() else { return nil }
        if !queue.isEmpty { queues[root] = queue }
        queuedCount -= 1
        running.insert(root)
        return event
    }

    /// Ends the running event of `event`'s root; the root is ready again when it has more.
    mutating func finish(_ event: Event) {
        let root = RootKey(of: event)
        known.remove(event.id)
        running.remove(root)
        if let queue = queues[root], !queue.isEmpty {
            ready.append(root)
        }
    }

    var hasReady: Bool { readyHead < ready.count }
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
