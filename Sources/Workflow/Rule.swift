import JSON

/// A built-in rule of the `core` plugin, with its props decoded and checked at load.
public enum Rule: Sendable {
    /// Moves the entity to `status`.
    case setState(status: String)
    /// Copies the named event attributes that are present to the entity.
    case setAttributes(names: [String])
    /// Declares event attributes and their types: the event fails when one is missing or mistyped.
    case requireAttributes([AttributeRequirement])
    /// Sends `eventName` to an entity of the same root (inline), or to another root when
    /// `root` is set (queued after commit).
    case sendEvent(SendEventTarget)
    /// Sends `eventName` to every entity of `entityType` under the same root (inline).
    case sendEventToChildren(eventName: String, entityType: String)
    /// Sends `eventName` to the current entity `delaySeconds` from now.
    case scheduleEvent(eventName: String, delaySeconds: Double)
    /// Adds the integer event attribute `attribute` to the numeric entity attribute `field`.
    case adjustQuantity(attribute: String, field: String)
    /// Writes `message` to the audit trail as a CUSTOM audit.
    case log(message: String)
    /// Posts the executed event to `url` after commit, through the webhook outbox.
    case sendWebhook(name: String, url: String)
    /// Raises Fluent's RuleExecutionException with `message`.
    case raiseException(message: String)

    /// The event attributes the rule reads and their types: its part of the event contract.
    public var requiredAttributes: [AttributeRequirement] {
        switch self {
        case .requireAttributes(let requirements): return requirements
        case .adjustQuantity(let attribute, _): return [AttributeRequirement(name: attribute, type: .integer)]
        default: return []
        }
    }
}

/// Where a `SendEvent` rule sends its event.
public struct SendEventTarget: Sendable, Equatable {
    public var eventName: String
    /// nil: the current entity; the root type: the root entity; another type: `entityRef` of
    /// that type under the root (or the current entity when it has that type).
    public var entityType: String?
    public var entityRef: String?
    /// Another retailer; nil keeps the executed event's retailer.
    public var retailerId: String?
    /// Another root entity type and ref: the event then runs in its own execution after commit.
    public var rootEntityType: String?
    public var rootEntityRef: String?

    public init(eventName: String, entityType: String? = nil, entityRef: String? = nil, retailerId: String? = nil,
                rootEntityType: String? = nil, rootEntityRef: String? = nil) {
        self.eventName = eventName
        self.entityType = entityType
        self.entityRef = entityRef
        self.retailerId = retailerId
        self.rootEntityType = rootEntityType
        self.rootEntityRef = rootEntityRef
    }

    /// Whether the props name a root or retailer, so the event may leave the current root.
    public var namesAnotherRoot: Bool {
        retailerId != nil || rootEntityType != nil
    }
}
