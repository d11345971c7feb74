import EventStore
import JSON

/// Categories of ORCHESTRATION_AUDIT events, as Fluent names them.
public enum AuditCategory {
    /// The entity as it was before the event was processed.
    public static let snapshot = "snapshot"
    /// One matched ruleset run, with its timings.
    public static let ruleSet = "ruleSet"
    /// One rule run, with its props and timings.
    public static let rule = "rule"
    /// One action a rule produced: a status or attribute change, an event sent, a webhook, a log.
    public static let action = "ACTION"
    /// A failure, a raised RuleExecutionException, or why no ruleset matched.
    public static let exception = "exception"
    /// A message written by a `Log` rule.
    public static let custom = "CUSTOM"
}

/// Builds audit events for one executed event: same account, retailer and entity context,
/// and `context.sourceEvents` = [the executed event's id].
struct AuditWriter {
    let sourceEvent: Event
    let context: EventContext
    let makeID: @Sendable () -> String
    let now: @Sendable () -> Int64

    static let generatedBy = "workflow-engine"

    func audit(_ category: String, name: String, success: Bool = true, _ attributes: [(String, JSONValue)]) -> Event {
        var auditContext = context
        auditContext.sourceEvents = [sourceEvent.id]
        return Event(id: makeID(), name: name, type: EventType.orchestrationAudit, accountId: sourceEvent.accountId,
                     retailerId: sourceEvent.retailerId, category: category, context: auditContext,
                     eventStatus: success ? EventStatus.success : EventStatus.failed,
                     attributes: AuditWriter.attributeList(attributes), source: sourceEvent.source,
                     generatedBy: AuditWriter.generatedBy, generatedOn: now())
    }

    /// Renders attributes as Fluent's audit list: `[{"name", "type", "value"}]`.
    static func attributeList(_ attributes: [(String, JSONValue)]) -> JSONValue {
        .array(attributes.map { name, value in
            .object(JSONObject([("name", .string(name)), ("type", .string(AttributeType.name(of: value))), ("value", value)]))
        })
    }
}
