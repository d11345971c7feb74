import EventStore
import Foundation
import Telemetry

/// Holds SCHEDULED events until their `scheduledOn` time, then hands them to the queue.
/// One thread sleeps until the earliest time, so events run within milliseconds of it.
final class EventScheduler: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`: events sorted by scheduledOn, then id.
    private var events: [Event] = []
    private var stopping = false
    private let due: @Sendable ([Event]) -> Void
    private let finished = DispatchSemaphore(value: 0)

    init(due: @escaping @Sendable ([Event]) -> Void) {
        self.due = due
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "workflow-scheduler"
        thread.start()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    func schedule(_ newEvents: [Event]) {
        guard !newEvents.isEmpty else { return }
        condition.lock()
        for event in newEvents {
            let index = events.partitioningIndex { EventScheduler.precedes(event, $0) }
            events.insert(event, at: index)
        }
        condition.broadcast()
        condition.unlock()
    }

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return events.count
    }

    private static func precedes(_ left: Event, _ right: Event) -> Bool {
        let leftTime = left.scheduledOn ?? 0
        let rightTime = right.scheduledOn ?? 0
        return leftTime != rightTime ? leftTime < rightTime : left.id < right.id
    }

    private func run() {
        condition.lock()
        while !stopping {
            let now = TimeFormat.nowMilliseconds()
            let dueCount = events.prefix { ($0.scheduledOn ?? 0) <= now }.count
            if dueCount > 0 {
                let batch = Array(events.prefix(dueCount))
                events.removeFirst(dueCount)
                condition.unlock()
                due(batch)
                condition.lock()
                continue
            }
            if let next = events.first?.scheduledOn {
                _ = condition.wait(until: Date(timeIntervalSince1970: Double(next) / 1000))
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }
}

private extension Array {
    /// Returns the first index whose element satisfies `predicate`, for an array partitioned by it.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
