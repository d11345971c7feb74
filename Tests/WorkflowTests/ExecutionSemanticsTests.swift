import EventStore
import JSON
import Testing
@testable import Workflow

/// Raised exceptions, loops, scheduled and cross-root events, on a workflow written for them.
@Suite struct ExecutionSemanticsTests {
    static let workflowText = """
    {"retailerId": "1", "version": "3", "name": "CASE::TEST", "entityType": "CASE", "entitySubtype": "TEST",
     "statuses": [{"name": "CREATED", "entityType": "CASE"}, {"name": "OPEN", "entityType": "CASE"},
                  {"name": "ON_HOLD", "entityType": "CASE"}, {"name": "CREATED", "entityType": "NOTE"}],
     "rulesets": [
       {"name": "Open", "type": "CASE", "rules": [
          {"name": "X.core.SetState", "props": {"status": "OPEN"}},
          {"name": "X.core.SendEvent", "props": {"eventName": "Touch", "entityType": "NOTE", "entityRef": "N-1"}},
          {"name": "X.core.RaiseException", "props": {"message": "credit check failed"}},
          {"name": "X.core.SetState", "props": {"status": "NEVER"}}],
        "triggers": [{"status": "CREATED"}]},
       {"name": "Open", "type": "CASE", "eventType": "EXCEPTION", "rules": [
          {"name": "X.core.SetAttributes", "props": {"attributes": ["exceptionMessage", "exceptionRule"]}},
          {"name": "X.core.SetState", "props": {"status": "ON_HOLD"}}],
        "triggers": [{"status": "OPEN"}]},
       {"name": "Again", "type": "CASE", "rules": [{"name": "X.core.RaiseException", "props": {"message": "first"}}]},
       {"name": "Again", "type": "CASE", "eventType": "EXCEPTION", "rules": [{"name": "X.core.RaiseException", "props": {"message": "second"}}]},
       {"name": "Loop", "type": "CASE", "rules": [{"name": "X.core.SendEvent", "props": {"eventName": "Loop"}}]},
       {"name": "Fan", "type": "CASE", "rules": [{"name": "X.core.SendEvent", "props": {"eventName": "Fan2"}},
                                                  {"name": "X.core.SendEvent", "props": {"eventName": "Fan2"}}]},
       {"name": "Fan2", "type": "CASE", "rules": [{"name": "X.core.Log", "props": {"message": "fan"}}]},
       {"name": "Later", "type": "CASE", "rules": [{"name": "X.core.ScheduleEvent", "props": {"eventName": "Wake", "delay": 2.5}}]},
       {"name": "Elsewhere", "type": "CASE", "rules": [
          {"name": "X.core.SendEvent", "props": {"eventName": "Hello", "rootEntityType": "CASE", "rootEntityRef": "OTHER"}},
          {"name": "X.core.SendEvent", "props": {"eventName": "Hello", "retailerId": "2", "rootEntityType": "CASE", "rootEntityRef": "C-1"}}]},
       {"name": "Touch", "type": "NOTE", "rules": [{"name": "X.core.SetAttributes", "props": {"attributes": ["touched"]}}]}
     ]}
    """

    let executor: WorkflowExecutor
    let clock = ManualClock()

    init() throws {
        let workflow = try WorkflowFixtures.workflow(Self.workflowText)
        var other = workflow
        other.retailerId = "2"
        executor = WorkflowExecutor(catalog: WorkflowCatalog([workflow, other]), limits: ExecutionLimits(maxInlineEvents: 5, maxChainDepth: 4),
                                    now: { [clock] in clock.now })
    }

    private func event(_ name: String, ref: String = "C-1", attributes: JSONObject = JSONObject()) -> Event {
        WorkflowFixtures.event(name, type: "CASE", ref: ref, subtype: "TEST", attributes: attributes)
    }

    @Test func raiseExceptionRunsExceptionRulesets() throws {
        let store = MemoryEntityStore()
        let outcome = store.run(event("Open"), with: executor)

        #expect(outcome.status == EventStatus.complete)
        #expect(store.status("CASE", "C-1") == "ON_HOLD")
        #expect(store.attribute("CASE", "C-1", "exceptionMessage") == "credit check failed")
        #expect(store.attribute("CASE", "C-1", "exceptionRule") == "X.core.RaiseException")
        // The queued SendEvent of the raising ruleset was dropped.
        #expect(outcome.inlineEvents.isEmpty)
        #expect(store.entities[EntityKey(retailerId: "1", type: "NOTE", ref: "N-1")] == nil)

        let exception = try #require(outcome.audits(AuditCategory.exception).first)
        #expect(exception.name == "RuleExecutionException")
        #expect(exception.auditValue("message") == "credit check failed")
        #expect(exception.auditValue("exceptionRuleSets") == ["Open"])
        let rulesets = outcome.audits(AuditCategory.ruleSet)
        #expect(rulesets.map(\.eventStatus) == [EventStatus.failed, EventStatus.success])
        #expect(rulesets.map { $0.auditValue("eventType") } == ["NORMAL", "EXCEPTION"])
        // Three rules of the first ruleset ran; the fourth never did.
        #expect(outcome.audits(AuditCategory.rule).count == 5)
    }

    @Test func raiseInsideExceptionRulesetFails() {
        let store = MemoryEntityStore()
        let outcome = store.run(event("Again"), with: executor)
        #expect(outcome.status == EventStatus.failed)
        #expect(outcome.errorMessage?.contains("second") == true)
        #expect(outcome.entityWrites.isEmpty)
    }

    @Test func selfTriggeringLoopIsBounded() throws {
        let store = MemoryEntityStore()
        let outcome = store.run(event("Loop"), with: executor)
        #expect(outcome.status == EventStatus.failed)
        let audit = try #require(outcome.events.first)
        #expect(outcome.events.count == 1)
        #expect(audit.name == "ExecutionLimitExceeded")
        #expect(audit.auditValue("limit") == "maxChainDepth")
        let message = try #require(outcome.errorMessage)
        #expect(message.contains("ruleset Loop sends Loop on CASE/C-1 again, which is a loop"))
        #expect(message.contains("max chain depth of 4"))
        #expect(store.entities.isEmpty)

        // Another entity still runs.
        #expect(store.run(event("Fan2", ref: "C-2"), with: executor).status == EventStatus.complete)
    }

    @Test func inlineEventCountIsBounded() throws {
        let executor = WorkflowExecutor(catalog: self.executor.catalog, limits: ExecutionLimits(maxInlineEvents: 1, maxChainDepth: 10))
        let store = MemoryEntityStore()
        let outcome = store.run(event("Fan"), with: executor)
        #expect(outcome.status == EventStatus.failed)
        #expect(outcome.events.first?.auditValue("limit") == "maxInlineEvents")
        #expect(outcome.errorMessage?.contains("max of 1 inline events") == true)
    }

    @Test func scheduleEventIsAFollowUp() throws {
        let store = MemoryEntityStore()
        clock.now = 1_000_000
        let outcome = store.run(event("Later"), with: executor)
        #expect(outcome.status == EventStatus.complete)
        let scheduled = try #require(outcome.followUpEvents.first)
        #expect(outcome.followUpEvents.count == 1)
        #expect(scheduled.eventStatus == EventStatus.scheduled)
        #expect(scheduled.scheduledOn == 1_002_500)
        #expect(scheduled.name == "Wake")
        #expect(scheduled.context.entityRef == "C-1")
        #expect(scheduled.context.sourceEvents == [outcome.event.id])
        #expect(outcome.events.contains { $0.id == scheduled.id })
        #expect(outcome.audits(AuditCategory.action).first?.auditValue("mode") == "SCHEDULED")
    }

    @Test func otherRootEventsAreQueued() throws {
        let store = MemoryEntityStore()
        let outcome = store.run(event("Elsewhere"), with: executor)
        #expect(outcome.status == EventStatus.complete)
        #expect(outcome.followUpEvents.count == 2)
        #expect(outcome.followUpEvents.allSatisfy { $0.eventStatus == EventStatus.pending })
        #expect(outcome.followUpEvents.map(\.context.rootEntityRef) == ["OTHER", "C-1"])
        #expect(outcome.followUpEvents.map(\.retailerId) == ["1", "2"])
        #expect(outcome.inlineEvents.isEmpty)
        #expect(outcome.audits(AuditCategory.action).map { $0.auditValue("mode") } == ["QUEUED", "QUEUED"])

        let queued = store.run(outcome.followUpEvents[0], with: executor)
        #expect(queued.status == EventStatus.noMatch)
        #expect(store.status("CASE", "OTHER") == "CREATED")
    }

    @Test func sendEventCreatesTargetEntity() throws {
        let workflow = try WorkflowFixtures.workflow(Self.workflowText.replacingOccurrences(
            of: #"{"name": "X.core.RaiseException", "props": {"message": "credit check failed"}},"#, with: ""))
        let executor = WorkflowExecutor(catalog: WorkflowCatalog([workflow]))
        let store = MemoryEntityStore()
        let outcome = store.run(event("Open", attributes: JSONObject([("touched", true)])), with: executor)
        #expect(outcome.status == EventStatus.complete)
        #expect(store.status("CASE", "C-1") == "NEVER")
        let note = try #require(store.entities[EntityKey(retailerId: "1", type: "NOTE", ref: "N-1")])
        #expect(note.attributes["touched"] == true)
        #expect(note.rootRef == "C-1")
        #expect(outcome.inlineEvents.first?.context.entityId == note.id)
    }
}

/// A settable clock for executor tests, in epoch milliseconds.
final class ManualClock: @unchecked Sendable {
    var now: Int64 = 1_800_000_000_000
}
