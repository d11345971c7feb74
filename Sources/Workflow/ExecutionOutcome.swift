import EventStore

/// The changes of one execution of an event, computed before anything is written. The engine
/// writes them in one transaction, so an execution is stored whole or not at all.
public struct ExecutionOutcome: Sendable {
    /// The executed event, with its final status.
    public var event: Event
    /// COMPLETE, NO_MATCH or FAILED.
    public var status: String
    /// Set when `status` is FAILED (what went wrong and where) or NO_MATCH (why nothing matched).
    public var errorMessage: String?
    /// The id of the event's entity, when it was resolved.
    public var entityId: String?
    /// Entities to insert (`isNew`) or update, in the order they were first touched.
    public var entityWrites: [EntityWrite]
    /// Events to insert, in creation order: audits, inline events with their final status,
    /// and the PENDING or SCHEDULED events that run after commit.
    public var events: [Event]
    /// Webhooks to put in the outbox.
    public var webhooks: [OutboxWebhook]
    /// The PENDING and SCHEDULED events of `events`, to hand to the queue after commit.
    public var followUpEvents: [Event]

    public init(event: Event, status: String, errorMessage: String? = nil, entityId: String? = nil,
                entityWrites: [EntityWrite] = [], events: [Event] = [], webhooks: [OutboxWebhook] = [],
                followUpEvents: [Event] = []) {
        self.event = event
        self.status = status
        self.errorMessage = errorMessage
        self.entityId = entityId
        self.entityWrites = entityWrites
        self.events = events
        self.webhooks = webhooks
        self.followUpEvents = followUpEvents
    }
}

/// An entity as an execution left it.
public struct EntityWrite: Sendable {
    public var entity: Entity
    /// True when the execution created the entity; false for an update of `entity.version`.
    public var isNew: Bool

    public init(entity: Entity, isNew: Bool) {
        self.entity = entity
        self.isNew = isNew
    }
}
