import EventStore
import JSON

/// The reason a rule run ended early.
enum RuleInterrupt: Error {
    /// A `RaiseException` rule: Fluent's RuleExecutionException.
    case raised(String)
    /// Any other failure: the event fails.
    case failed(ExecutionFailure)
}

/// An action a rule queued until the end of its ruleset; a `RaiseException` drops them.
enum PendingAction {
    /// An event for an entity of the same root, run in this execution.
    case inline(name: String, context: EventContext)
    /// A PENDING event for another root, or a SCHEDULED one, stored with the execution.
    case followUp(Event, rule: String)
    case webhook(name: String, url: String, rule: String)
}

extension ExecutionRun {
    /// Runs one matched ruleset: checks its event contract, runs its rules in order, then
    /// flushes the actions they queued and runs the inline events they sent.
    func runRuleset(_ ruleset: RulesetDefinition, scope: EventScope, handlingException: Bool) throws(ExecutionFailure) {
        let started = executor.now()
        try checkContract(ruleset, event: scope.event)

        var pending: [PendingAction] = []
        for rule in ruleset.rules {
            let ruleStarted = executor.now()
            do {
                try apply(rule, ruleset: ruleset, scope: scope, pending: &pending)
            } catch {
                switch error {
                case .failed(var failure):
                    failure.ruleSet = failure.ruleSet ?? ruleset.name
                    failure.rule = failure.rule ?? rule.name
                    throw failure
                case .raised(let message):
                    try handleRaised(message, rule: rule, ruleStarted: ruleStarted, ruleset: ruleset, rulesetStarted: started,
                                     scope: scope, handlingException: handlingException)
                    return
                }
            }
            records.append(ruleAudit(rule, ruleset: ruleset, scope: scope, started: ruleStarted, success: true))
        }

        let inlineEvents = try flush(pending, ruleset: ruleset, scope: scope)
        records.append(rulesetAudit(ruleset, scope: scope, started: started, outcome: "COMPLETE", success: true))

        for (index, event) in inlineEvents {
            let result = try process(event, depth: scope.depth + 1, sentBy: scope.event)
            records[index].eventStatus = result.status
            if records[index].context.entityId == nil {
                records[index].context.entityId = result.entityId
            }
        }
    }

    // MARK: - Event contract

    /// Fails the event when an attribute the ruleset's rules require is missing or mistyped.
    private func checkContract(_ ruleset: RulesetDefinition, event: Event) throws(ExecutionFailure) {
        let attributes = event.attributes.objectValue ?? JSONObject()
        for requirement in ruleset.contract {
            guard let value = attributes[requirement.name] else {
                throw ExecutionFailure(.contractViolation,
                                       "event \(event.name) has no attribute \(requirement.name): ruleset \(ruleset.name) requires it as \(requirement.type.rawValue)",
                                       ruleSet: ruleset.name, details: [
                                           ("attribute", .string(requirement.name)), ("expectedType", .string(requirement.type.rawValue)),
                                           ("actualType", .string("MISSING")),
                                       ])
            }
            guard requirement.type.matches(value) else {
                let actual = AttributeType.name(of: value)
                throw ExecutionFailure(.contractViolation,
                                       "attribute \(requirement.name) of event \(event.name) must be \(requirement.type.rawValue), got \(actual) \(ExecutionRun.preview(value)): ruleset \(ruleset.name) requires it",
                                       ruleSet: ruleset.name, details: [
                                           ("attribute", .string(requirement.name)), ("expectedType", .string(requirement.type.rawValue)),
                                           ("actualType", .string(actual)),
                                       ])
            }
        }
    }

    /// Renders a value as short JSON for messages.
    static func preview(_ value: JSONValue) -> String {
        let text = JSONWriter.encodeString(value)
        return text.count <= 60 ? text : String(text.prefix(57)) + "..."
    }

    // MARK: - RaiseException

    /// Records the raised exception, drops the ruleset's queued actions (by not flushing them)
    /// and runs the EXCEPTION rulesets of the event's name, with the message as attributes.
    private func handleRaised(_ message: String, rule: RuleDefinition, ruleStarted: Int64, ruleset: RulesetDefinition,
                              rulesetStarted: Int64, scope: EventScope, handlingException: Bool) throws(ExecutionFailure) {
        records.append(ruleAudit(rule, ruleset: ruleset, scope: scope, started: ruleStarted, success: false))
        records.append(rulesetAudit(ruleset, scope: scope, started: rulesetStarted, outcome: "EXCEPTION", success: false))
        if handlingException {
            throw ExecutionFailure(.ruleFailed,
                                   "rule \(rule.name) raised \"\(message)\" inside EXCEPTION ruleset \(ruleset.name); an exception handler must not raise again",
                                   ruleSet: ruleset.name, rule: rule.name)
        }

        guard let entity = try entity(scope.key) else { return }
        var exceptionEvent = scope.event
        var attributes = exceptionEvent.attributes.objectValue ?? JSONObject()
        attributes["exceptionMessage"] = .string(message)
        attributes["exceptionRuleSet"] = .string(ruleset.name)
        attributes["exceptionRule"] = .string(rule.name)
        exceptionEvent.attributes = .object(attributes)

        let handlers = scope.workflow.rulesets.filter { matches($0, event: exceptionEvent, entity: entity, eventType: .exception) }
        records.append(scope.audits.audit(AuditCategory.exception, name: "RuleExecutionException", success: false, [
            ("message", .string(message)), ("ruleSet", .string(ruleset.name)), ("rule", .string(rule.name)),
            ("exceptionRuleSets", .array(handlers.map { .string($0.name) })),
        ]))

        var handlerScope = scope
        handlerScope.event = exceptionEvent
        for handler in handlers {
            try runRuleset(handler, scope: handlerScope, handlingException: true)
        }
    }

    // MARK: - Audits

    private func ruleAudit(_ rule: RuleDefinition, ruleset: RulesetDefinition, scope: EventScope, started: Int64, success: Bool) -> Event {
        scope.audits.audit(AuditCategory.rule, name: rule.name, success: success, [
            ("ruleSet", .string(ruleset.name)), ("props", .object(rule.props)),
            ("startTimer", .integer(started)), ("stopTimer", .integer(executor.now())),
        ])
    }

    private func rulesetAudit(_ ruleset: RulesetDefinition, scope: EventScope, started: Int64, outcome: String, success: Bool) -> Event {
        scope.audits.audit(AuditCategory.ruleSet, name: ruleset.name, success: success, [
            ("type", .string(ruleset.type)), ("subtype", ruleset.subtype.map { .string($0) } ?? .null),
            ("eventType", .string(ruleset.eventType.rawValue)), ("workflow", .string(scope.workflow.name)),
            ("workflowVersion", .string(scope.workflow.version)), ("outcome", .string(outcome)),
            ("startTimer", .integer(started)), ("stopTimer", .integer(executor.now())),
        ])
    }
}
