import Synchronization

/// The result of one execution, as `/event/sync` reports it.
public struct ExecutionReport: Sendable, Equatable {
    public var eventId: String
    public var entityId: String?
    /// COMPLETE, NO_MATCH or FAILED.
    public var status: String
    /// Set when `status` is FAILED.
    public var errorMessage: String?

    public init(eventId: String, entityId: String?, status: String, errorMessage: String?) {
        self.eventId = eventId
        self.entityId = entityId
        self.status = status
        self.errorMessage = errorMessage
    }
}

/// The end of a synchronous execution request.
public enum SyncExecutionResult: Sendable, Equatable {
    /// The event was executed and its outcome committed.
    case processed(ExecutionReport)
    /// The event was stored PENDING but not processed within the time limit (or the engine is
    /// stopping); it runs later like any queued event.
    case timedOut(eventId: String)
    /// The event could not be stored; nothing was kept.
    case rejected(String)
}

/// Delivers a sync result once: on completion or on timeout, whichever comes first; later calls do nothing.
final class SyncWaiter: Sendable {
    private let completion: Mutex<(@Sendable (SyncExecutionResult) -> Void)?>

    init(_ completion: @escaping @Sendable (SyncExecutionResult) -> Void) {
        self.completion = Mutex(completion)
    }

    func finish(_ result: SyncExecutionResult) {
        let callback = completion.withLock { stored -> (@Sendable (SyncExecutionResult) -> Void)? in
            let callback = stored
            stored = nil
            return callback
        }
        callback?(result)
    }
}
