import EventStore
import JSON

extension ExecutionRun {
    /// Runs one rule. Status and attribute changes apply to the entity at once (later rules see
    /// them); events and webhooks are queued in `pending` until the ruleset ends.
    func apply(_ rule: RuleDefinition, ruleset: RulesetDefinition, scope: EventScope,
               pending: inout [PendingAction]) throws(RuleInterrupt) {
        let attributes = scope.event.attributes.objectValue ?? JSONObject()
        switch rule.rule {
        case .setState(let status):
            var entity = try current(scope)
            let previous = entity.status
            entity.status = status
            entity.updatedOn = executor.now()
            overlay.update(entity)
            records.append(mutationAudit(entity, rule: rule, scope: scope, [
                ("field", .string("status")), ("from", .string(previous)), ("to", .string(status)),
            ]))

        case .setAttributes(let names):
            var values = JSONObject()
            for name in names {
                if let value = attributes[name] { values[name] = value }
            }
            guard !values.isEmpty else { return }
            var entity = try current(scope)
            for (name, value) in values {
                entity.attributes[name] = value
            }
            entity.updatedOn = executor.now()
            overlay.update(entity)
            records.append(mutationAudit(entity, rule: rule, scope: scope, [("field", .string("attributes")), ("values", .object(values))]))

        case .requireAttributes:
            // Checked with the ruleset's event contract before its first rule ran.
            return

        case .adjustQuantity(let attribute, let field):
            try adjustQuantity(attribute: attribute, field: field, attributes: attributes, rule: rule, scope: scope)

        case .log(let message):
            records.append(scope.audits.audit(AuditCategory.action, name: "LogAction", [
                ("rule", .string(rule.name)), ("message", .string(message)),
            ]))
            records.append(scope.audits.audit(AuditCategory.custom, name: message, [
                ("message", .string(message)), ("ruleSet", .string(ruleset.name)), ("rule", .string(rule.name)),
            ]))

        case .sendEvent(let target):
            pending.append(try sendEventAction(target, rule: rule, scope: scope))

        case .sendEventToChildren(let eventName, let entityType):
            let entity = try current(scope)
            let children: [Entity]
            do {
                children = try overlay.children(retailerId: entity.retailerId, rootType: entity.rootType, rootRef: entity.rootRef,
                                                type: entityType)
            } catch {
                throw .failed(ExecutionFailure(.storage, "cannot read the \(entityType) entities of root \(entity.rootType)/\(entity.rootRef): \(error)"))
            }
            for child in children where child.key != entity.key {
                pending.append(.inline(name: eventName, context: ExecutionRun.context(of: child, sourceEvents: [scope.event.id])))
            }

        case .scheduleEvent(let eventName, let delaySeconds):
            let entity = try current(scope)
            let now = executor.now()
            var event = makeEvent(eventName, context: ExecutionRun.context(of: entity, sourceEvents: [scope.event.id]),
                                  retailerId: entity.retailerId, status: EventStatus.scheduled, scope: scope)
            event.scheduledOn = now + Int64((delaySeconds * 1000).rounded())
            pending.append(.followUp(event, rule: rule.name))

        case .sendWebhook(let name, let url):
            pending.append(.webhook(name: name, url: url, rule: rule.name))

        case .raiseException(let message):
            throw .raised(message)
        }
    }

    private func current(_ scope: EventScope) throws(RuleInterrupt) -> Entity {
        let found: Entity?
        do {
            found = try entity(scope.key)
        } catch {
            throw .failed(error)
        }
        guard let found else {
            throw .failed(ExecutionFailure(.invalidEvent, "entity \(scope.key) vanished during the execution"))
        }
        return found
    }

    private func mutationAudit(_ entity: Entity, rule: RuleDefinition, scope: EventScope, _ details: [(String, JSONValue)]) -> Event {
        scope.audits.audit(AuditCategory.action, name: "MutateAction",
                           [("rule", .string(rule.name)), ("entityType", .string(entity.type)), ("entityRef", .string(entity.ref))] + details)
    }

    // MARK: - AdjustQuantity

    /// Adds the integer event attribute to the entity's numeric field (absent counts as 0).
    /// Integer fields are added with overflow checking; a fractional field stays fractional.
    private func adjustQuantity(attribute: String, field: String, attributes: JSONObject, rule: RuleDefinition,
                                scope: EventScope) throws(RuleInterrupt) {
        guard let delta = attributes[attribute]?.integerValue else {
            throw .failed(ExecutionFailure(.contractViolation, "attribute \(attribute) must be INTEGER for AdjustQuantity",
                                           details: [("attribute", .string(attribute)), ("expectedType", .string("INTEGER"))]))
        }
        var entity = try current(scope)
        let previous = entity.attributes[field] ?? .integer(0)
        let updated: JSONValue
        switch previous {
        case .integer(let value):
            let (sum, overflow) = value.addingReportingOverflow(delta)
            guard !overflow else {
                throw .failed(ExecutionFailure(.ruleFailed,
                                               "\(field) \(value) + \(delta) does not fit in a 64-bit integer: AdjustQuantity refused to overflow",
                                               details: [("field", .string(field)), ("value", .integer(value)), ("delta", .integer(delta))]))
            }
            updated = .integer(sum)
        case .double(let value):
            let sum = value + Double(delta)
            guard sum.isFinite else {
                throw .failed(ExecutionFailure(.ruleFailed, "\(field) \(value) + \(delta) is not a finite number"))
            }
            updated = .double(sum)
        default:
            throw .failed(ExecutionFailure(.ruleFailed,
                                           "entity attribute \(field) of \(entity.type)/\(entity.ref) is \(AttributeType.name(of: previous)), but AdjustQuantity needs a number",
                                           details: [("field", .string(field)), ("actualType", .string(AttributeType.name(of: previous)))]))
        }
        entity.attributes[field] = updated
        entity.updatedOn = executor.now()
        overlay.update(entity)
        records.append(mutationAudit(entity, rule: rule, scope: scope, [
            ("field", .string(field)), ("from", previous), ("to", updated), ("delta", .integer(delta)),
        ]))
    }

    // MARK: - SendEvent

    /// Resolves a SendEvent target: the current entity, the root, a named entity of the same
    /// root (inline), or an entity of another root or retailer (stored PENDING, run after commit).
    private func sendEventAction(_ target: SendEventTarget, rule: RuleDefinition, scope: EventScope) throws(RuleInterrupt) -> PendingAction {
        let entity = try current(scope)

        if target.namesAnotherRoot, let rootType = target.rootEntityType, let rootRef = target.rootEntityRef {
            let retailerId = target.retailerId ?? entity.retailerId
            let entityType = target.entityType ?? rootType
            let entityRef = target.entityRef ?? rootRef
            let sameRoot = retailerId == entity.retailerId && rootType == entity.rootType && rootRef == entity.rootRef
            if !sameRoot {
                let context = EventContext(sourceEvents: [scope.event.id], entityType: entityType, entityRef: entityRef,
                                           rootEntityType: rootType, rootEntityRef: rootRef)
                let event = makeEvent(target.eventName, context: context, retailerId: retailerId, status: EventStatus.pending, scope: scope)
                return .followUp(event, rule: rule.name)
            }
        }

        let key: EntityKey
        switch (target.entityType, target.entityRef) {
        case (nil, nil):
            key = entity.key
        case (nil, let ref?):
            key = EntityKey(retailerId: entity.retailerId, type: entity.type, ref: ref)
        case (let type?, let ref?):
            key = EntityKey(retailerId: entity.retailerId, type: type, ref: ref)
        case (let type?, nil):
            if type == entity.rootType {
                key = EntityKey(retailerId: entity.retailerId, type: entity.rootType, ref: entity.rootRef)
            } else if type == entity.type {
                key = entity.key
            } else {
                throw .failed(ExecutionFailure(.ruleFailed,
                                               "SendEvent to entityType \(type) needs entityRef: it is neither the root type \(entity.rootType) nor the current entity's type \(entity.type)"))
            }
        }

        let targetEntity: Entity?
        do {
            targetEntity = try overlay.entity(key)
        } catch {
            throw .failed(ExecutionFailure(.storage, "cannot read entity \(key): \(error)"))
        }
        if let targetEntity {
            guard targetEntity.rootType == entity.rootType, targetEntity.rootRef == entity.rootRef else {
                throw .failed(ExecutionFailure(.ruleFailed,
                                               "SendEvent target \(key) belongs to root \(targetEntity.rootType)/\(targetEntity.rootRef), not \(entity.rootType)/\(entity.rootRef): name the other root in rootEntityType and rootEntityRef"))
            }
            return .inline(name: target.eventName, context: ExecutionRun.context(of: targetEntity, sourceEvents: [scope.event.id]))
        }
        let context = EventContext(sourceEvents: [scope.event.id], entityType: key.type, entityRef: key.ref,
                                   rootEntityType: entity.rootType, rootEntityId: entity.rootId, rootEntityRef: entity.rootRef)
        return .inline(name: target.eventName, context: context)
    }

    /// Makes a new ORCHESTRATION event sent by the scope's event, carrying its attributes, one
    /// hop deeper in the chain.
    func makeEvent(_ name: String, context: EventContext, retailerId: String, status: String, scope: EventScope) -> Event {
        Event(id: executor.makeID(), name: name, type: EventType.orchestration, accountId: scope.event.accountId,
              retailerId: retailerId, category: scope.event.category, context: context, eventStatus: status,
              attributes: scope.event.attributes, source: scope.event.source, generatedBy: AuditWriter.generatedBy,
              generatedOn: executor.now(), chainDepth: scope.event.chainDepth + 1)
    }
}
