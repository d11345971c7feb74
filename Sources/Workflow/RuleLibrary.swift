import JSON

/// The built-in rules: the `core` plugin, usable under any account prefix
/// (`ACME.core.SetState`, `OTHER.core.SetState`).
public enum RuleLibrary {
    public static let plugin = "core"

    /// Every built-in rule, in the order they are listed in messages and docs.
    public static let specs: [RuleSpec] = [
        RuleSpec(name: "SetState", summary: "Moves the entity to a status.",
                 props: [PropSpec("status", .string)]) { props in
            .setState(status: try props.string("status"))
        },
        RuleSpec(name: "SetAttributes", summary: "Copies the listed event attributes that are present to the entity.",
                 props: [PropSpec("attributes", .stringList)]) { props in
            .setAttributes(names: try props.stringList("attributes"))
        },
        RuleSpec(name: "RequireAttributes", summary: "Fails the event when a listed attribute is missing or has another type.",
                 props: [PropSpec("attributes", .attributeList)]) { props in
            .requireAttributes(try props.attributeList("attributes"))
        },
        RuleSpec(name: "SendEvent", summary: "Sends an event to an entity of the same root, or to another root.",
                 props: [PropSpec("eventName", .string), PropSpec("entityType", .string, required: false),
                         PropSpec("entityRef", .string, required: false), PropSpec("retailerId", .string, required: false),
                         PropSpec("rootEntityType", .string, required: false), PropSpec("rootEntityRef", .string, required: false)]) { props in
            try sendEventTarget(props)
        },
        RuleSpec(name: "SendEventToChildren", summary: "Sends an event to every entity of a type under the same root.",
                 props: [PropSpec("eventName", .string), PropSpec("entityType", .string)]) { props in
            .sendEventToChildren(eventName: try props.string("eventName"), entityType: try props.string("entityType"))
        },
        RuleSpec(name: "ScheduleEvent", summary: "Sends an event to the current entity after a delay in seconds.",
                 props: [PropSpec("eventName", .string), PropSpec("delay", .number)]) { props in
            let delay = try props.number("delay")
            guard delay >= 0, delay <= maximumScheduleDelaySeconds else {
                throw RulePropsError("prop delay must be between 0 and \(Int(maximumScheduleDelaySeconds)) seconds, got \(delay)")
            }
            return .scheduleEvent(eventName: try props.string("eventName"), delaySeconds: delay)
        },
        RuleSpec(name: "AdjustQuantity", summary: "Adds an integer event attribute to a numeric entity attribute.",
                 props: [PropSpec("attribute", .string), PropSpec("field", .string)]) { props in
            .adjustQuantity(attribute: try props.string("attribute"), field: try props.string("field"))
        },
        RuleSpec(name: "Log", summary: "Writes a message to the audit trail.",
                 props: [PropSpec("message", .string)]) { props in
            .log(message: try props.string("message"))
        },
        RuleSpec(name: "SendWebhook", summary: "Posts the event to a URL after commit, with retries.",
                 props: [PropSpec("name", .string), PropSpec("url", .string)]) { props in
            let url = try props.string("url")
            do {
                _ = try WebhookURL(parsing: url)
            } catch let error as WebhookURLError {
                throw RulePropsError("prop url is invalid: \(error.message)")
            }
            return .sendWebhook(name: try props.string("name"), url: url)
        },
        RuleSpec(name: "RaiseException", summary: "Stops the ruleset and runs the EXCEPTION rulesets of the event's name.",
                 props: [PropSpec("message", .string)]) { props in
            .raiseException(message: try props.string("message"))
        },
    ]

    /// One year: a longer delay is almost certainly a unit mistake (milliseconds for seconds).
    public static let maximumScheduleDelaySeconds: Double = 31_536_000

    /// The names to show when a rule is unknown: `<account>.core.SetState`, ...
    public static var knownRuleNames: [String] {
        specs.map { "<account>.\(plugin).\($0.name)" }
    }

    /// Returns the spec of a full rule name such as `ACME.core.SetState`, or nil when the name
    /// is not `<account>.core.<Rule>` with a known rule.
    public static func spec(forRuleName fullName: String) -> RuleSpec? {
        let parts = fullName.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, !parts.contains(where: \.isEmpty), parts[parts.count - 2] == Substring(plugin) else {
            return nil
        }
        let ruleName = String(parts[parts.count - 1])
        return specs.first { $0.name == ruleName }
    }

    private static func sendEventTarget(_ props: JSONObject) throws -> Rule {
        let target = SendEventTarget(eventName: try props.string("eventName"), entityType: try props.optionalString("entityType"),
                                     entityRef: try props.optionalString("entityRef"), retailerId: try props.optionalString("retailerId"),
                                     rootEntityType: try props.optionalString("rootEntityType"),
                                     rootEntityRef: try props.optionalString("rootEntityRef"))
        if (target.rootEntityType == nil) != (target.rootEntityRef == nil) {
            throw RulePropsError("props rootEntityType and rootEntityRef must be set together")
        }
        if target.retailerId != nil && target.rootEntityType == nil {
            throw RulePropsError("prop retailerId needs rootEntityType and rootEntityRef: name the root in the other retailer")
        }
        if let rootType = target.rootEntityType, let entityType = target.entityType, entityType != rootType, target.entityRef == nil {
            throw RulePropsError("prop entityRef is required when entityType \(entityType) is not the other root's type \(rootType)")
        }
        return .sendEvent(target)
    }
}

/// A built-in rule's name, props and the function that turns checked props into a `Rule`.
public struct RuleSpec: Sendable {
    public let name: String
    public let summary: String
    public let props: [PropSpec]
    let build: @Sendable (JSONObject) throws -> Rule

    init(name: String, summary: String, props: [PropSpec], build: @escaping @Sendable (JSONObject) throws -> Rule) {
        self.name = name
        self.summary = summary
        self.props = props
        self.build = build
    }

    /// Checks `props` against the spec and builds the rule. Returns the rule and warnings for
    /// props the rule does not know.
    public func makeRule(props: JSONObject) throws(RulePropsError) -> (Rule, [String]) {
        for spec in self.props {
            guard let value = props[spec.name] else {
                if spec.required {
                    throw RulePropsError("missing prop \(spec.name) (\(spec.kind.description))")
                }
                continue
            }
            guard spec.kind.accepts(value) else {
                throw RulePropsError("prop \(spec.name) must be \(spec.kind.description), got \(value.typeName)")
            }
        }
        let known = Set(self.props.map(\.name))
        let warnings = props.keys.filter { !known.contains($0) }.map { "unknown prop \($0) is ignored" }
        do {
            return (try build(props), warnings)
        } catch let error as RulePropsError {
            throw error
        } catch {
            throw RulePropsError("\(error)")
        }
    }
}

/// One prop of a built-in rule.
public struct PropSpec: Sendable {
    public let name: String
    public let kind: PropKind
    public let required: Bool

    init(_ name: String, _ kind: PropKind, required: Bool = true) {
        self.name = name
        self.kind = kind
        self.required = required
    }
}

/// The JSON shape a prop must have.
public enum PropKind: Sendable, CustomStringConvertible {
    case string
    case stringList
    case attributeList
    case number

    public var description: String {
        switch self {
        case .string: return "a non-empty string"
        case .stringList: return "an array of non-empty strings"
        case .attributeList: return "an array of {name, type} objects with type one of \(AttributeType.allCases.map(\.rawValue).joined(separator: ", "))"
        case .number: return "a number"
        }
    }

    func accepts(_ value: JSONValue) -> Bool {
        switch self {
        case .string:
            return value.stringValue.map { !$0.isEmpty } ?? false
        case .stringList:
            guard let items = value.arrayValue else { return false }
            return items.allSatisfy { $0.stringValue.map { !$0.isEmpty } ?? false }
        case .attributeList:
            guard let items = value.arrayValue else { return false }
            return items.allSatisfy { item in
                guard let object = item.objectValue, let name = object["name"]?.stringValue, !name.isEmpty,
                      let type = object["type"]?.stringValue else { return false }
                return AttributeType(rawValue: type) != nil
            }
        case .number:
            return value.doubleValue != nil
        }
    }
}

/// A rule's props do not fit its spec.
public struct RulePropsError: Error, Sendable {
    public let message: String

    init(_ message: String) {
        self.message = message
    }
}

private extension JSONObject {
    func string(_ name: String) throws(RulePropsError) -> String {
        guard let text = self[name]?.stringValue, !text.isEmpty else {
            throw RulePropsError("missing prop \(name) (\(PropKind.string.description))")
        }
        return text
    }

    func optionalString(_ name: String) throws(RulePropsError) -> String? {
        guard self[name] != nil else { return nil }
        return try string(name)
    }

    func stringList(_ name: String) throws(RulePropsError) -> [String] {
        guard let items = self[name]?.arrayValue else {
            throw RulePropsError("missing prop \(name) (\(PropKind.stringList.description))")
        }
        return items.compactMap(\.stringValue)
    }

    func number(_ name: String) throws(RulePropsError) -> Double {
        guard let number = self[name]?.doubleValue else {
            throw RulePropsError("missing prop \(name) (\(PropKind.number.description))")
        }
        return number
    }

    func attributeList(_ name: String) throws(RulePropsError) -> [AttributeRequirement] {
        guard let items = self[name]?.arrayValue else {
            throw RulePropsError("missing prop \(name) (\(PropKind.attributeList.description))")
        }
        return items.compactMap { item in
            guard let name = item["name"]?.stringValue, let type = item["type"]?.stringValue.flatMap(AttributeType.init) else {
                return nil
            }
            return AttributeRequirement(name: name, type: type)
        }
    }
}
