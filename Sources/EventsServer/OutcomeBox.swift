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

