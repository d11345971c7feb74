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
                try checkLimits(sending: name, to: context, inline: true, ruleset: ruleset, scope: scope)
                inlineEventCount += 1
                let event = makeEvent(name, context: context, retailerId: scope.event.retailerId, status: EventStatus.pending, scope: scope)
                records.append(sendAudit(event, mode: "INLINE", scope: scope, ruleset: ruleset))
                records.append(event)
                inlineEvents.append((records.count - 1, event))

            case .followUp(let event, _):
                try checkLimits(sending: event.name, to: event.context, inline: false, ruleset: ruleset, scope: scope)
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

    /// Fails the execution when one more event would pass the max chain depth, or when one more
    /// inline event would pass the max inline events. The message names the loop when the
    /// chain repeats an event on the same entity.
    private func checkLimits(sending name: String, to context: EventContext, inline: Bool, ruleset: RulesetDefinition,
                             scope: EventScope) throws(ExecutionFailure) {
        let limits = executor.limits
        let passesDepth = scope.event.chainDepth + 1 > limits.maxChainDepth
        let passesCount = inline && inlineEventCount + 1 > limits.maxInlineEvents
        guard passesDepth || passesCount else { return }

        let next = "\(name) on \(context.entityType ?? "?")/\(context.entityRef ?? "?")"
        let earlier = (passesDepth ? senderChain(limit: limits.maxChainDepth) : []) + chain
        let loop = earlier.contains(next) ? "ruleset \(ruleset.name) sends \(next) again, which is a loop; " : ""
        let full = earlier + [next]

        if passesDepth {
            throw ExecutionFailure(.loopLimit,
                                   "\(loop)the chain of events passed the max chain depth of \(limits.maxChainDepth): \(describeChain(full))",
                                   ruleSet: ruleset.name, details: [
                                       ("limit", .string("maxChainDepth")), ("maxChainDepth", .integer(Int64(limits.maxChainDepth))),
                                       ("chain", .array(full.suffix(limits.maxChainDepth + 1).map { .string($0) })),
                                   ])
        }
        throw ExecutionFailure(.loopLimit,
                               "\(loop)the execution passed the max of \(limits.maxInlineEvents) inline events: \(describeChain(full))",
                               ruleSet: ruleset.name, details: [
                                   ("limit", .string("maxInlineEvents")), ("maxInlineEvents", .integer(Int64(limits.maxInlineEvents))),
                               ])
    }

    /// Returns the events of earlier executions that led to the executed one (queued for
    /// another root or scheduled), oldest first, as `Name on TYPE/ref`: at most `limit`, and
    /// fewer when a sender cannot be read.
    private func senderChain(limit: Int) -> [String] {
        var senders: [String] = []
        var event = executedEvent
        while let current = event, current.chainDepth > 0, senders.count < limit, let senderId = current.context.sourceEvents.first {
            guard let sender = try? source.event(id: senderId) else { break }
            senders.append("\(sender.name) on \(sender.context.entityType ?? "?")/\(sender.context.entityRef ?? "?")")
            event = sender
        }
        return senders.reversed()
    }

    /// Renders a chain as `A on X/1 -> B on Y/2 -> ...`, shortened in the middle when long.
    private func describeChain(_ full: [String]) -> String {
        guard full.count > 8 else { return full.joined(separator: " -> ") }
        return (full.prefix(4) + ["... \(full.count - 7) more ..."] + full.suffix(3)).joined(separator: " -> ")
    }
}
