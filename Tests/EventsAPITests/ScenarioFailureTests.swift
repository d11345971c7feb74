import EventStore
import Foundation
import JSON
import Testing
import Workflow

/// Reported workflow-engine failures replayed against our server over HTTP.
@Suite struct ScenarioFailureTests {
    static let loopWorkflow = """
    {"retailerId": "1", "version": "1", "name": "LOOP::TEST", "entityType": "LOOP", "entitySubtype": "TEST",
     "statuses": [{"name": "CREATED", "entityType": "LOOP"}, {"name": "DONE", "entityType": "LOOP"}],
     "rulesets": [
       {"name": "Loop", "type": "LOOP", "eventType": "NORMAL", "rules": [{"name": "ACME.core.SendEvent", "props": {"eventName": "Loop"}}],
        "triggers": [], "userActions": []},
       {"name": "Finish", "type": "LOOP", "eventType": "NORMAL", "rules": [{"name": "ACME.core.SetState", "props": {"status": "DONE"}}],
        "triggers": [], "userActions": []}
     ]}
    """

    /// A ruleset that sends the event matching itself (a CRM looped forever on this): the work is
    /// bounded, the event ends FAILED with an audit naming the loop, and other entities still run.
    @Test func selfTriggeringWorkflowIsBounded() throws {
        let server = try ScenarioServer(extraWorkflows: [Self.loopWorkflow]) {
            $0.limits = WorkflowLimitsForTest.small
        }
        defer { server.remove() }

        let loop = #"{"name":"Loop","retailerId":"1","entityType":"LOOP","entityRef":"L-1","entitySubtype":"TEST"}"#
        let sync = try server.postSync(loop)
        #expect(sync.status == 400)
        let answer = try sync.json()
        #expect(answer["eventStatus"] == "FAILED")
        let message = answer["errorMessage"]?.stringValue ?? ""
        #expect(message.contains("loop"))
        #expect(message.contains("Loop on LOOP/L-1"))

        let asyncId = try server.postAsync(#"{"name":"Loop","retailerId":"1","entityType":"LOOP","entityRef":"L-2","entitySubtype":"TEST"}"#)
        let others = try (0..<5).map { index in
            try server.postAsync(#"{"name":"Finish","retailerId":"1","entityType":"LOOP","entityRef":"F-\#(index)","entitySubtype":"TEST"}"#)
        }
        #expect(try server.waitForEvent(asyncId)["eventStatus"] == "FAILED")
        for id in others {
            #expect(try server.waitForEvent(id)["eventStatus"] == "COMPLETE")
        }

        let trail = try server.eventsBySource(rootEntityRef: "L-2")
        let audits = trail[asyncId] ?? []
        #expect(audits.count == 1)
        #expect(audits.first?["category"] == "exception")
        #expect(audits.first?["name"] == "ExecutionLimitExceeded")
        #expect(audits.first?.auditValue("message")?.stringValue?.contains("which is a loop") == true)
        // Nothing of the failed execution remains: no inline Loop events, no entity.
        #expect(try server.entity("LOOP", "L-2") == nil)
    }
}

enum WorkflowLimitsForTest {
    static let small = ExecutionLimits(maxInlineEvents: 100, maxChainDepth: 8)
}
