import EventStore
import JSON

extension ExecutionRun {
    /// Turns a finished ruleset's queued actions into events, outbox rows and ACTION audits.
    /// Returns the inline events to run next, with their index in `records` so their final
    /// status can be filled in.
    func flush(_ pending: [PendingAction], ruleset: RulesetDefinition, scope: EventScope) throws(ExecutionFailure) -> [(Int, Event)] {
        var inlineEvents: [(Int, Event)] = []
        for action in pending {
            switch action {
            case .inline(let name, let context):
                try checkLimits(sending: name, to: context, ruleset: ruleset, depth: scope.depth)
                inlineEventCount += 1
                let event = makeEvent(name, context: context, retailerId: scope.event.retailerId, status: EventStatus.pending, scope: scope)
                records.append(sendAudit(event, mode: "INLINE", scope: scope, ruleset: ruleset))
                records.append(event)
                inlineEvents.append((records.count - 1, event))

            case .followUp(let event, _):
                records.append(sendAudit(event, mode: event.eventStatus == EventStatus.scheduled ? "SCHEDULED" : "QUEUED",
                                         scope: scope, ruleset: ruleset))
                records.append(event)
                followUps.append(event)

            case .webhook(let name, let url, let rule):
                var payloadEvent = scope.event
                payloadEvent.context = scope.audits.context
                payloadEvent.context.sourceEvents = scope.event.context.sourceEvents
                payloadEvent.eventStatus = EventStatus.complete
                var auditContext = scope.audits.context
                auditContext.sourceEvents = [scope.event.id]
                let now = executor.now()
                webhooks.append(OutboxWebhook(eventId: scope.event.id, webhookName: name, url: url, payload: EventJSON.encode(payloadEvent),
                                              context: auditContext, accountId: scope.event.accountId, retailerId: scope.event.retailerId,
                                              nextAttemptOn: now, createdOn: now))
                records.append(scope.audits.audit(AuditCategory.action, name: "WebhookAction", [
                    ("rule", .string(rule)), ("webhookName", .string(name)), ("url", .string(url)),
                    ("delivery", .string("QUEUED")),
                ]))
            }
        }
        return inlineEvents
    }

    private func sendAudit(_ event: Event, mode: String, scope: EventScope, ruleset: RulesetDefinition) -> Event {
        var attributes: [(String, JSONValue)] = [
            ("ruleSet", .string(ruleset.name)), ("eventId", .string(event.id)), ("eventName", .string(event.name)),
            ("retailerId", .string(event.retailerId)), ("entityType", event.context.entityType.map { .string($0) } ?? .null),
            ("entityRef", event.context.entityRef.map { .string($0) } ?? .null),
            ("rootEntityType", event.context.rootEntityType.map { .string($0) } ?? .null),
            ("rootEntityRef", event.context.rootEntityRef.map { .string($0) } ?? .null), ("mode", .string(mode)),
        ]
        if let scheduledOn = event.scheduledOn {
            attributes.append(("scheduledOn", .integer(scheduledOn)))
        }
        return scope.audits.audit(AuditCategory.action, name: "SendEventAction", attributes)
    }

    // MARK: - Loop bounds

    /// Fails the execution when one more inline event would pass the inline event or chain
    /// depth limits, naming the loop when the chain repeats an event on the same entity.
    private func checkLimits(sending name: String, to context: EventContext, ruleset: RulesetDefinition,
                             depth: Int) throws(ExecutionFailure) {
        let limits = executor.limits
        let next = "\(name) on \(context.entityType ?? "?")/\(context.entityRef ?? "?")"
        let loop = chain.contains(next) ? "ruleset \(ruleset.name) sends \(next) again, which is a loop; " : ""

        if depth + 1 > limits.maxChainDepth {
            throw ExecutionFailure(.loopLimit,
                                   "\(loop)the chain of inline events passed the max chain depth of \(limits.maxChainDepth): \(describeChain(appending: next))",
                                   ruleSet: ruleset.name, details: [
                                       ("limit", .string("maxChainDepth")), ("maxChainDepth", .integer(Int64(limits.maxChainDepth))),
                                       ("chain", .array((chain + [next]).suffix(limits.maxChainDepth + 1).map { .string($0) })),
                                   ])
        }
        if inlineEventCount + 1 > limits.maxInlineEvents {
            throw ExecutionFailure(.loopLimit,
                                   "\(loop)the execution passed the max of \(limits.maxInlineEvents) inline events: \(describeChain(appending: next))",
                                   ruleSet: ruleset.name, details: [
                                       ("limit", .string("maxInlineEvents")), ("maxInlineEvents", .integer(Int64(limits.maxInlineEvents))),
                                   ])
        }
    }

    /// Renders the chain as `A on X/1 -> B on Y/2 -> ...`, shortened in the middle when long.
    private func describeChain(appending next: String) -> String {
        let full = chain + [next]
        guard full.count > 8 else { return full.joined(separator: " -> ") }
        return (full.prefix(4) + ["... \(full.count - 7) more ..."] + full.suffix(3)).joined(separator: " -> ")
    }
}
