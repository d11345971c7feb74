import Synchronization

/// A failure message handed from a completion handler to the thread that waits for it.
final class OutcomeBox: Sendable {
    private let message = Mutex<String?>(nil)

    func set(_ text: String) {
        message.withLock { $0 = text }
    }

    func get() -> String? {
        message.withLock { $0 }
    }
}

/// Whether the workflow engine runs: set after it started, cleared before it stops.
final class EngineRunningFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set(_ running: Bool) {
        value.store(running, ordering: .releasing)
    }

    func get() -> Bool {
        value.load(ordering: .acquiring)
    }
}
