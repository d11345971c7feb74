/// A webhook call waiting in the outbox, or its final state.
public struct OutboxWebhook: Sendable, Equatable {
    /// States of an outbox row.
    public enum State: String, Sendable {
        /// Waiting for its next attempt at `nextAttemptOn`.
        case pending = "PENDING"
        /// The receiver responded with a 2xx status.
        case delivered = "DELIVERED"
        /// Every allowed attempt failed.
        case failed = "FAILED"
    }

    /// Assigned by the database; 0 before insert.
    public var id: Int64
    /// The executed event whose ruleset sent the webhook.
    public var eventId: String
    public var webhookName: String
    public var url: String
    /// The request body: the executed event as JSON.
    public var payload: [UInt8]
    /// The entity context of the executed event, for the attempt audits.
    public var context: EventContext
    public var accountId: String
    public var retailerId: String
    public var state: State
    public var attempts: Int
    /// Epoch milliseconds.
    public var nextAttemptOn: Int64
    public var lastError: String?
    public var createdOn: Int64

    public init(id: Int64 = 0, eventId: String, webhookName: String, url: String, payload: [UInt8], context: EventContext,
                accountId: String, retailerId: String, state: State = .pending, attempts: Int = 0, nextAttemptOn: Int64,
                lastError: String? = nil, createdOn: Int64) {
        self.id = id
        self.eventId = eventId
        self.webhookName = webhookName
        self.url = url
        self.payload = payload
        self.context = context
        self.accountId = accountId
        self.retailerId = retailerId
        self.state = state
        self.attempts = attempts
        self.nextAttemptOn = nextAttemptOn
        self.lastError = lastError
        self.createdOn = createdOn
    }
}
