import EventStore
import JSON
import Telemetry

/// Runs one ORCHESTRATION event through its workflow, with Fluent's semantics, and returns
/// what it changes. It writes nothing: the caller stores the outcome in one transaction.
///
/// The executor is a plain value: the same event, workflows, entities, clock and ids give the
/// same outcome, which is what the unit tests rely on.
public struct WorkflowExecutor: Sendable {
    public let catalog: WorkflowCatalog
    public let limits: ExecutionLimits
    let makeID: @Sendable () -> String
    let now: @Sendable () -> Int64

    public init(catalog: WorkflowCatalog, limits: ExecutionLimits = ExecutionLimits(),
                makeID: @escaping @Sendable () -> String = { EventID.make() },
                now: @escaping @Sendable () -> Int64 = { TimeFormat.nowMilliseconds() }) {
        self.catalog = catalog
        self.limits = limits
        self.makeID = makeID
        self.now = now
    }

    /// Executes `event` against the entities of `source`.
    ///
    /// COMPLETE when at least one ruleset matched and every rule ran (a `RaiseException` counts
    /// as handled); NO_MATCH when no ruleset matched; FAILED on any other failure, with only
    /// the exception audit in the outcome.
    public func execute(_ event: Event, entities source: any EntitySource) -> ExecutionOutcome {
        let run = ExecutionRun(executor: self, source: source)
        do {
            let result = try run.process(event, depth: 0, sentBy: nil)
            var executed = event
            executed.eventStatus = result.status
            return ExecutionOutcome(event: executed, status: result.status, errorMessage: run.noMatchReason, entityId: result.entityId,
                                    entityWrites: run.overlay.writes, events: run.records, webhooks: run.webhooks,
                                    followUpEvents: run.followUps)
        } catch {
            return failedOutcome(event, failure: error, failedEvent: run.currentEvent, entityContext: run.failureContext)
        }
    }

    /// Returns the outcome of a failed execution: the FAILED status and one exception audit.
    func failedOutcome(_ event: Event, failure: ExecutionFailure, failedEvent: Event?, entityContext: EventContext?) -> ExecutionOutcome {
        var executed = event
        executed.eventStatus = EventStatus.failed
        let writer = AuditWriter(sourceEvent: event, context: entityContext ?? event.context, makeID: makeID, now: now)

        var attributes: [(String, JSONValue)] = [("message", .string(failure.message))]
        if let ruleSet = failure.ruleSet { attributes.append(("ruleSet", .string(ruleSet))) }
        if let rule = failure.rule { attributes.append(("rule", .string(rule))) }
        if let failedEvent, failedEvent.id != event.id {
            attributes.append(("failedEventId", .string(failedEvent.id)))
            attributes.append(("failedEventName", .string(failedEvent.name)))
        }
        attributes.append(contentsOf: failure.details)
        let audit = writer.audit(AuditCategory.exception, name: failure.kind.rawValue, success: false, attributes)

        let entityId = entityContext?.entityId ?? event.context.entityId
        return ExecutionOutcome(event: executed, status: EventStatus.failed, errorMessage: failure.message,
                                entityId: entityId, events: [audit])
    }

    /// Returns the outcome for an event whose execution could not be written (a storage error,
    /// an entity changed underneath): FAILED, with an exception audit that gives the error.
    public func failedOutcome(_ event: Event, storageError: any Error) -> ExecutionOutcome {
        let failure = ExecutionFailure(.storage, "the execution could not be stored: \(storageError)")
        return failedOutcome(event, failure: failure, failedEvent: nil, entityContext: nil)
    }
}
