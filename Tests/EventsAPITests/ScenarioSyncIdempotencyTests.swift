import EventStore
import Foundation
import JSON
import Testing
import Workflow

/// `Idempotency-Key` on `POST /event/sync`: a retry never runs the event a second time.
@Suite struct ScenarioSyncIdempotencyTests {
    static func finish(_ ref: String) -> String {
        #"{"name":"Finish","retailerId":"1","entityType":"LOOP","entityRef":"\#(ref)","entitySubtype":"TEST"}"#
    }

    /// Returns the ORCHESTRATION events named `name` of entity `ref`.
    static func orchestrationEvents(_ server: ScenarioServer, name: String, ref: String) throws -> [JSONValue] {
        let response = try server.server.request("GET", "/api/v4.1/event?context.entityRef=\(ref)&eventType=ORCHESTRATION&name=\(name)",
                                                 token: server.token)
        #expect(response.status == 200)
        return try response.json()["results"]?.arrayValue ?? []
    }

    static func postSync(_ server: ScenarioServer, _ body: String, key: String) throws -> TestResponse {
        try server.server.request("POST", "/api/v4.1/event/sync", token: server.token, headers: [("Idempotency-Key", key)], json: body)
    }

    @Test func retryReplaysFinalResponse() throws {
        let server = try ScenarioServer(extraWorkflows: [ScenarioFailureTests.loopWorkflow])
        defer { server.remove() }

        let first = try Self.postSync(server, Self.finish("K-1"), key: "sync-key-1")
        #expect(first.status == 200)
        #expect(try first.json()["eventStatus"] == "COMPLETE")
        #expect(first.header("Idempotent-Replayed") == nil)

        let retry = try Self.postSync(server, Self.finish("K-1"), key: "sync-key-1")
        #expect(retry.status == 200)
        #expect(retry.body == first.body)
        #expect(retry.header("Idempotent-Replayed") == "true")
        #expect(retry.header("Location") == first.header("Location"))
        #expect(try Self.orchestrationEvents(server, name: "Finish", ref: "K-1").count == 1)
    }

    @Test func retryReplaysFailure() throws {
        let server = try ScenarioServer(extraWorkflows: [ScenarioFailureTests.loopWorkflow]) {
            $0.limits = WorkflowLimitsForTest.small
        }
        defer { server.remove() }

        let body = #"{"name":"Loop","retailerId":"1","entityType":"LOOP","entityRef":"K-2","entitySubtype":"TEST"}"#
        let first = try Self.postSync(server, body, key: "sync-key-2")
        #expect(first.status == 400)
        #expect(try first.json()["eventStatus"] == "FAILED")

        let retry = try Self.postSync(server, body, key: "sync-key-2")
        #expect(retry.status == 400)
        #expect(retry.body == first.body)
        #expect(retry.header("Idempotent-Replayed") == "true")
        #expect(try Self.orchestrationEvents(server, name: "Loop", ref: "K-2").count == 1)
    }

    @Test func otherBodyOrEndpointConflicts() throws {
        let server = try ScenarioServer(extraWorkflows: [ScenarioFailureTests.loopWorkflow])
        defer { server.remove() }

        #expect(try Self.postSync(server, Self.finish("K-3"), key: "sync-key-3").status == 200)
        let otherBody = try Self.postSync(server, Self.finish("K-4"), key: "sync-key-3")
        #expect(otherBody.status == 409)
        #expect(otherBody.text.contains("sync-key-3"))

        let asyncReuse = try server.server.request("POST", "/api/v4.1/event/async", token: server.token,
                                                   headers: [("Idempotency-Key", "sync-key-3")], json: Self.finish("K-3"))
        #expect(asyncReuse.status == 409)
        #expect(try Self.orchestrationEvents(server, name: "Finish", ref: "K-4").isEmpty)
        #expect(try Self.orchestrationEvents(server, name: "Finish", ref: "K-3").count == 1)
    }

    /// A first request that timed out (504) leaves its event to the queue. A retry while the
    /// event is still PENDING waits for that event, and a retry after it ran returns its
    /// outcome; neither stores a second event.
    @Test func retryAfterTimeoutReturnsSameEvent() throws {
        let first = try ScenarioServer(extraWorkflows: [ScenarioFailureTests.loopWorkflow]) {
            $0.syncTimeoutMilliseconds = 300
        }
        // With the engine stopped, the event stays PENDING, so both requests time out.
        first.engine.stop()

        let timedOut = try Self.postSync(first, Self.finish("K-5"), key: "sync-key-5")
        #expect(timedOut.status == 504)
        let location = try #require(timedOut.header("Location"))
        let eventId = try #require(location.split(separator: "/").last.map(String.init))

        let waiting = try Self.postSync(first, Self.finish("K-5"), key: "sync-key-5")
        #expect(waiting.status == 504)
        #expect(waiting.header("Location") == location)
        #expect(try Self.orchestrationEvents(first, name: "Finish", ref: "K-5").count == 1)
        first.stop()

        let restarted = try ScenarioServer(directory: first.server.directory, extraWorkflows: [ScenarioFailureTests.loopWorkflow])
        defer { restarted.remove() }
        #expect(try restarted.waitForEvent(eventId)["eventStatus"] == "COMPLETE")

        let retry = try Self.postSync(restarted, Self.finish("K-5"), key: "sync-key-5")
        #expect(retry.status == 200)
        #expect(retry.header("Idempotent-Replayed") == "true")
        let answer = try retry.json()
        #expect(answer["eventId"] == .string(eventId))
        #expect(answer["eventStatus"] == "COMPLETE")
        #expect(answer["entityId"]?.stringValue?.isEmpty == false)
        #expect(try Self.orchestrationEvents(restarted, name: "Finish", ref: "K-5").count == 1)

        // The retry stored the final response, so the next one replays it byte for byte.
        let again = try Self.postSync(restarted, Self.finish("K-5"), key: "sync-key-5")
        #expect(again.body == retry.body)
    }
}
