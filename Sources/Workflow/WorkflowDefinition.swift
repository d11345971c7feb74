import JSON

/// A workflow in Fluent's format: the lifecycle of one root entity type and subtype, and of the
/// entities under that root, for one retailer.
public struct WorkflowDefinition: Sendable {
    /// `TYPE::SUBTYPE`, for example `ORDER::HD`.
    public var name: String
    public var retailerId: String
    public var version: String
    /// The root entity type the workflow runs for.
    public var entityType: String
    /// The root entity subtype the workflow runs for.
    public var entitySubtype: String
    public var description: String?
    public var statuses: [StatusDefinition]
    /// Rulesets in workflow order, which is the order matched rulesets run in.
    public var rulesets: [RulesetDefinition]
    /// The file the workflow was loaded from, for messages.
    public var file: String
    /// Problems that do not stop loading, such as a SetState to an undeclared status.
    public var warnings: [String]

    public init(name: String, retailerId: String, version: String, entityType: String, entitySubtype: String,
                description: String? = nil, statuses: [StatusDefinition], rulesets: [RulesetDefinition],
                file: String = "", warnings: [String] = []) {
        self.name = name
        self.retailerId = retailerId
        self.version = version
        self.entityType = entityType
        self.entitySubtype = entitySubtype
        self.description = description
        self.statuses = statuses
        self.rulesets = rulesets
        self.file = file
        self.warnings = warnings
    }

    /// Whether the workflow declares `status` for entities of `entityType`.
    public func declares(status: String, for entityType: String) -> Bool {
        statuses.contains { $0.name == status && $0.entityType == entityType }
    }
}

/// One status an entity type can be in, with the category Fluent groups it under.
public struct StatusDefinition: Sendable, Equatable {
    public var name: String
    public var entityType: String
    public var category: String?

    public init(name: String, entityType: String, category: String? = nil) {
        self.name = name
        self.entityType = entityType
        self.category = category
    }
}

/// Whether a ruleset runs for ordinary events or for events raised by a `RaiseException` rule.
public enum RulesetEventType: String, Sendable, CaseIterable {
    case normal = "NORMAL"
    case exception = "EXCEPTION"
}

/// A ruleset: the rules run when an event of its name reaches an entity of its type, subtype
/// and one of its trigger statuses.
public struct RulesetDefinition: Sendable {
    public var name: String
    public var description: String?
    /// The entity type the ruleset runs for.
    public var type: String
    /// When set, the entity subtype the ruleset runs for.
    public var subtype: String?
    public var eventType: RulesetEventType
    public var rules: [RuleDefinition]
    /// Statuses the entity must be in; empty matches every status.
    public var triggers: [String]
    /// Fluent's user action definitions, kept as written; the engine does not interpret them.
    public var userActions: JSONValue

    public init(name: String, description: String? = nil, type: String, subtype: String? = nil,
                eventType: RulesetEventType = .normal, rules: [RuleDefinition], triggers: [String] = [],
                userActions: JSONValue = .array([])) {
        self.name = name
        self.description = description
        self.type = type
        self.subtype = subtype
        self.eventType = eventType
        self.rules = rules
        self.triggers = triggers
        self.userActions = userActions
    }

    /// The event contract: the union of the attributes its rules require, in rule order, the
    /// first declaration of a name winning.
    public var contract: [AttributeRequirement] {
        var seen: Set<String> = []
        var result: [AttributeRequirement] = []
        for rule in rules {
            for requirement in rule.rule.requiredAttributes where !seen.contains(requirement.name) {
                seen.insert(requirement.name)
                result.append(requirement)
            }
        }
        return result
    }
}

/// A rule as written in the workflow (`ACME.core.SetState` with its props) and the built-in
/// rule it resolved to.
public struct RuleDefinition: Sendable {
    /// The full name, `<account>.<plugin>.<Rule>`.
    public var name: String
    public var props: JSONObject
    public var rule: Rule

    public init(name: String, props: JSONObject, rule: Rule) {
        self.name = name
        self.props = props
        self.rule = rule
    }
}
