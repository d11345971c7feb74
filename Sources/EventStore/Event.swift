import JSON

/// One stored event, in the Fluent Events API's terms.
///
/// ORCHESTRATION events are run through workflows; ORCHESTRATION_AUDIT events record what a run
/// did; API and GENERAL events are stored and never orchestrated.
public struct Event: Sendable, Equatable {
    /// UUIDv7 in lowercase text, so ids sort by creation time.
    public var id: String
    public var name: String
    public var type: String
    public var accountId: String
    public var retailerId: String
    /// For audits: `snapshot`, `ruleSet`, `rule`, `ACTION`, `exception`, `CUSTOM`; for other
    /// events whatever the sender set, or nil.
    public var category: String?
    public var context: EventContext
    /// PENDING, SCHEDULED, COMPLETE, FAILED or NO_MATCH for ORCHESTRATION events; SUCCESS or
    /// FAILED for audits; COMPLETE for API and GENERAL events.
    public var eventStatus: String
    /// An object for ORCHESTRATION, API and GENERAL events; a list of `{name, type, value}` for audits.
    public var attributes: JSONValue
    public var source: String?
    /// The authenticated user that posted the event, or the engine for events it generated.
    public var generatedBy: String
    /// Epoch milliseconds.
    public var generatedOn: Int64
    /// Epoch milliseconds, for SCHEDULED events.
    public var scheduledOn: Int64?
    /// The number of workflow hops from the posted event that started the chain: 0 for a posted
    /// event, and the sender's depth plus 1 for an event that a workflow sent or scheduled. It is
    /// stored so that the chain bound still applies after a restart. The API does not render it.
    public var chainDepth: Int

    public init(id: String, name: String, type: String, accountId: String, retailerId: String, category: String? = nil,
                context: EventContext, eventStatus: String, attributes: JSONValue = .object(JSONObject()),
                source: String? = nil, generatedBy: String, generatedOn: Int64, scheduledOn: Int64? = nil, chainDepth: Int = 0) {
        self.id = id
        self.name = name
        self.type = type
        self.accountId = accountId
        self.retailerId = retailerId
        self.category = category
        self.context = context
        self.eventStatus = eventStatus
        self.attributes = attributes
        self.source = source
        self.generatedBy = generatedBy
        self.generatedOn = generatedOn
        self.scheduledOn = scheduledOn
        self.chainDepth = chainDepth
    }
}

/// The entity an event is about and the root entity that entity belongs to.
public struct EventContext: Sendable, Equatable {
    /// Ids of the events that caused this one (the executed event, for audits and inline events).
    public var sourceEvents: [String]
    public var entityType: String?
    public var entityId: String?
    public var entityRef: String?
    public var entitySubtype: String?
    public var rootEntityType: String?
    public var rootEntityId: String?
    public var rootEntityRef: String?

    public init(sourceEvents: [String] = [], entityType: String? = nil, entityId: String? = nil, entityRef: String? = nil,
                entitySubtype: String? = nil, rootEntityType: String? = nil, rootEntityId: String? = nil,
                rootEntityRef: String? = nil) {
        self.sourceEvents = sourceEvents
        self.entityType = entityType
        self.entityId = entityId
        self.entityRef = entityRef
        self.entitySubtype = entitySubtype
        self.rootEntityType = rootEntityType
        self.rootEntityId = rootEntityId
        self.rootEntityRef = rootEntityRef
    }
}

/// Event types of the Fluent Events API.
public enum EventType {
    public static let orchestration = "ORCHESTRATION"
    public static let orchestrationAudit = "ORCHESTRATION_AUDIT"
    public static let api = "API"
    public static let general = "GENERAL"
    public static let all = [orchestration, orchestrationAudit, api, general]
}

/// Event statuses of the Fluent Events API.
public enum EventStatus {
    public static let pending = "PENDING"
    public static let scheduled = "SCHEDULED"
    public static let complete = "COMPLETE"
    public static let failed = "FAILED"
    public static let noMatch = "NO_MATCH"
    public static let success = "SUCCESS"
    public static let all = [pending, scheduled, complete, failed, noMatch, success]
}
