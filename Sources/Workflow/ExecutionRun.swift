import EventStore
import JSON

extension Event {
    /// Returns the value of an audit attribute from its `{name, type, value}` list.
    func auditValue(_ name: String) -> JSONValue? {
        attributes.arrayValue?.first { $0["name"]?.stringValue == name }?["value"]
    }
}

/// The state of one execution: the entity overlay, the events and webhooks it produced so far,
/// and the chain of inline events, for loop bounds and messages.
final class ExecutionRun {
    let executor: WorkflowExecutor
    let source: any EntitySource
    var overlay: EntityOverlay
    /// Audits, inline events and follow-up events, in creation order.
    var records: [Event] = []
    var webhooks: [OutboxWebhook] = []
    var followUps: [Event] = []
    var inlineEventCount = 0
    /// The events being processed, outermost first, as `Name on TYPE/ref` for messages.
    var chain: [String] = []
    /// The event this run executes (depth 0).
    var executedEvent: Event?
    /// The event being processed when a failure happened, and its entity context.
    var currentEvent: Event?
    var failureContext: EventContext?
    /// The reason the executed event (depth 0) matched no ruleset.
    var noMatchReason: String?

    init(executor: WorkflowExecutor, source: any EntitySource) {
        self.executor = executor
        self.source = source
        self.overlay = EntityOverlay(source: source)
    }

    struct Result {
        var status: String
        var entityId: String?
    }

    /// Processes one event (the executed one at depth 0, or an inline one) and returns its status.
    func process(_ event: Event, depth: Int, sentBy: Event?) throws(ExecutionFailure) -> Result {
        if depth == 0 {
            executedEvent = event
        }
        currentEvent = event
        failureContext = event.context
        let target = try resolveTarget(event)
        guard let entity = try entity(target.key) else {
            throw ExecutionFailure(.invalidEvent, "entity \(target.key) vanished during the execution")
        }
        let context = ExecutionRun.context(of: entity, sourceEvents: event.context.sourceEvents)
        failureContext = context
        chain.append("\(event.name) on \(entity.type)/\(entity.ref)")
        defer { chain.removeLast() }

        let audits = AuditWriter(sourceEvent: event, context: context, makeID: executor.makeID, now: executor.now)
        records.append(audits.audit(AuditCategory.snapshot, name: entity.type, snapshotAttributes(target.snapshot, created: target.created)))

        let matched = target.workflow.rulesets.filter { self.matches($0, event: event, entity: entity, eventType: .normal) }
        guard !matched.isEmpty else {
            let audit = noMatchAudit(audits, event: event, entity: entity, workflow: target.workflow)
            records.append(audit)
            if depth == 0 {
                noMatchReason = audit.auditValue("message")?.stringValue
            }
            return Result(status: EventStatus.noMatch, entityId: entity.id)
        }

        let scope = EventScope(event: event, key: target.key, workflow: target.workflow, audits: audits, depth: depth)
        for ruleset in matched {
            try runRuleset(ruleset, scope: scope, handlingException: false)
        }
        return Result(status: EventStatus.complete, entityId: entity.id)
    }

    /// The event a ruleset runs for, with its entity, workflow and audit writer. `depth` counts
    /// inline hops inside this execution; `event.chainDepth` counts hops since the posted event.
    struct EventScope {
        var event: Event
        var key: EntityKey
        var workflow: WorkflowDefinition
        var audits: AuditWriter
        var depth: Int
    }

    // MARK: - Matching

    /// Fluent's match: same name, the entity's type, subtype when the ruleset sets one, a
    /// trigger status (none means any) and the event type.
    func matches(_ ruleset: RulesetDefinition, event: Event, entity: Entity, eventType: RulesetEventType) -> Bool {
        guard ruleset.eventType == eventType, ruleset.name == event.name, ruleset.type == entity.type else { return false }
        if let subtype = ruleset.subtype, subtype != entity.subtype { return false }
        return ruleset.triggers.isEmpty || ruleset.triggers.contains(entity.status)
    }

    private func noMatchAudit(_ audits: AuditWriter, event: Event, entity: Entity, workflow: WorkflowDefinition) -> Event {
        let named = workflow.rulesets.filter { $0.name == event.name && $0.eventType == .normal }
        let candidates: [JSONValue] = named.map { ruleset in
            .object(JSONObject([
                ("ruleSet", .string(ruleset.name)), ("type", .string(ruleset.type)),
                ("subtype", ruleset.subtype.map { .string($0) } ?? .null),
                ("triggers", .array(ruleset.triggers.map { .string($0) })),
            ]))
        }
        let reason: String
        if named.isEmpty {
            reason = "workflow \(workflow.name) v\(workflow.version) has no NORMAL ruleset named \(event.name)"
        } else {
            let described = named.map { ruleset in
                let statuses = ruleset.triggers.isEmpty ? "any status" : ruleset.triggers.joined(separator: ", ")
                return "\(ruleset.type)\(ruleset.subtype.map { "/\($0)" } ?? "") on \(statuses)"
            }
            reason = "no ruleset named \(event.name) matches \(entity.type)\(entity.subtype.map { "/\($0)" } ?? "") in status \(entity.status); rulesets of that name: \(described.joined(separator: "; "))"
        }
        return audits.audit(AuditCategory.exception, name: "NoMatchingRuleset", success: false, [
            ("message", .string(reason)), ("eventName", .string(event.name)), ("entityType", .string(entity.type)),
            ("entitySubtype", entity.subtype.map { .string($0) } ?? .null), ("entityStatus", .string(entity.status)),
            ("workflow", .string(workflow.name)), ("workflowVersion", .string(workflow.version)), ("candidates", .array(candidates)),
        ])
    }

    // MARK: - Entities

    func entity(_ key: EntityKey) throws(ExecutionFailure) -> Entity? {
        do {
            return try overlay.entity(key)
        } catch {
            throw ExecutionFailure(.storage, "cannot read entity \(key): \(error)")
        }
    }

    static func context(of entity: Entity, sourceEvents: [String]) -> EventContext {
        EventContext(sourceEvents: sourceEvents, entityType: entity.type, entityId: entity.id, entityRef: entity.ref,
                     entitySubtype: entity.subtype, rootEntityType: entity.rootType, rootEntityId: entity.rootId,
                     rootEntityRef: entity.rootRef)
    }

    private func snapshotAttributes(_ entity: Entity, created: Bool) -> [(String, JSONValue)] {
        [
            ("entityId", .string(entity.id)), ("entityRef", .string(entity.ref)), ("entityType", .string(entity.type)),
            ("entitySubtype", entity.subtype.map { .string($0) } ?? .null), ("status", .string(entity.status)),
            ("attributes", .object(entity.attributes)), ("rootEntityType", .string(entity.rootType)),
            ("rootEntityRef", .string(entity.rootRef)), ("workflow", entity.workflowName.map { .string($0) } ?? .null),
            ("workflowVersion", entity.workflowVersion.map { .string($0) } ?? .null), ("createdByEvent", .bool(created)),
        ]
    }
}
