import EventStore
import EventsAPI
import Foundation
import JSON
import Synchronization
import Telemetry
import Testing

/// Records what the submission hook receives.
final class RecordingListener: EventSubmissionListener {
    let accepted = Mutex<[Event]>([])

    func eventsAccepted(_ events: [Event]) {
        accepted.withLock { $0.append(contentsOf: events) }
    }
}

@Suite struct EventRoutesTests {
    static let order = #"{"name":"CREATE","retailerId":"1","entityType":"ORDER","entitySubtype":"HD","entityRef":"HD-1001","rootEntityType":"ORDER","rootEntityRef":"HD-1001","attributes":{"customerRef":"CUST-77","totalPrice":129.95}}"#

    @Test func postAsyncStoresPendingEvent() throws {
        let listener = RecordingListener()
        let server = try TestServer(listener: listener)
        defer { server.remove() }
        let token = try server.token()

        let response = try server.request("POST", "/api/v4.1/event/async", token: token, json: Self.order)
        #expect(response.status == 200)
        let body = try response.json()
        #expect(body.objectValue?.keys == ["eventId", "entityId", "eventStatus"])
        let eventID = try #require(body["eventId"]?.stringValue)
        #expect(EventID.isValid(eventID))
        #expect(EventID.milliseconds(of: eventID).map { abs($0 - TimeFormat.nowMilliseconds()) < 60_000 } == true)
        #expect(body["entityId"] == .null)
        #expect(body["eventStatus"] == "PENDING")
        #expect(response.header("Location") == "/api/v4.1/event/\(eventID)")

        let stored = try server.store.read { try EventRecords.fetch(id: eventID, on: $0) }
        #expect(stored?.eventStatus == EventStatus.pending)
        #expect(stored?.generatedBy == "demo")
        #expect(stored?.accountId == "ACME")
        #expect(listener.accepted.withLock { $0.map(\.id) } == [eventID])
    }

    @Test func getEventHasFluentShape() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        let eventID = try server.postEvent(Self.order, token: token)

        let response = try server.request("GET", "/api/v4.1/event/\(eventID)", token: token)
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        let body = try response.json()
        #expect(body.objectValue?.keys == ["id", "name", "type", "accountId", "retailerId", "category", "context", "eventStatus",
                                           "attributes", "source", "generatedBy", "generatedOn"])
        #expect(body["context"]?.objectValue?.keys == ["sourceEvents", "entityType", "entityId", "entityRef", "entitySubtype",
                                                       "rootEntityType", "rootEntityId", "rootEntityRef"])
        #expect(body["id"]?.stringValue == eventID)
        #expect(body["type"] == "ORCHESTRATION")
        #expect(body["context"]?["entityRef"] == "HD-1001")
        #expect(body["context"]?["sourceEvents"] == [])
        #expect(body["attributes"] == ["customerRef": "CUST-77", "totalPrice": 129.95])
        #expect(body["generatedBy"] == "demo")
        let generatedOn = try #require(body["generatedOn"]?.stringValue)
        #expect(generatedOn.count == 24)
        #expect(generatedOn.hasSuffix("Z"))
        #expect(TimeFormat.parseISO8601(generatedOn) != nil)
    }

    @Test func unknownEventIs404() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        for id in [EventID.make(), "not-an-id", "0190F1A2-7B3C-7D4E-8F00-112233445566"] {
            let response = try server.request("GET", "/api/v4.1/event/\(id)", token: token)
            #expect(response.status == 404, "\(id)")
            #expect(try response.json() == ["errors": [["code": "404", "message": .string("event \(id) not found")]]], "\(id)")
        }
    }

    @Test func scheduledAndNonOrchestrationEvents() throws {
        let listener = RecordingListener()
        let server = try TestServer(listener: listener)
        defer { server.remove() }
        let token = try server.token()

        let later = TimeFormat.iso8601(milliseconds: TimeFormat.nowMilliseconds() + 3_600_000)
        let scheduled = try server.request("POST", "/api/v4.1/event/async", token: token,
                                           json: #"{"name":"Remind","retailerId":"1","entityType":"ORDER","entityRef":"HD-1","scheduledOn":"\#(later)"}"#)
        #expect(try scheduled.json()["eventStatus"] == "SCHEDULED")
        let scheduledID = try #require(try scheduled.json()["eventId"]?.stringValue)
        let scheduledBody = try server.request("GET", "/api/v4.1/event/\(scheduledID)", token: token).json()
        #expect(scheduledBody["scheduledOn"]?.stringValue == later)
        #expect(scheduledBody.objectValue?.keys.last == "scheduledOn")

        let general = try server.request("POST", "/api/v4.1/event/async", token: token,
                                         json: #"{"name":"Note","retailerId":"1","type":"GENERAL","entityId":42,"source":"crm"}"#)
        #expect(general.status == 200)
        #expect(try general.json()["eventStatus"] == "COMPLETE")
        #expect(try general.json()["entityId"] == "42")

        // Scheduled events reach the engine through its scheduler; GENERAL events never do.
        #expect(listener.accepted.withLock { $0.map(\.name) } == ["Remind"])
    }

    @Test func badBodiesAre400AndStoreNothing() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let cases: [(String, String)] = [
            ("", "empty"),
            ("{", "invalid JSON"),
            ("[1,2]", "expected a JSON object, got an array"),
            (#""text""#, "expected a JSON object, got a string"),
            (#"{"retailerId":"1","entityType":"ORDER","entityRef":"A"}"#, "$.name: missing"),
            (#"{"name":"","retailerId":"1","entityType":"ORDER","entityRef":"A"}"#, "$.name: expected a non-empty string"),
            (#"{"name":5,"retailerId":"1","entityType":"ORDER","entityRef":"A"}"#, "$.name: expected a string, got an integer"),
            (#"{"name":"A","retailerId":true,"entityType":"ORDER","entityRef":"A"}"#, "$.retailerId: expected a string or an integer"),
            (#"{"name":"A","retailerId":"1","entityRef":"A"}"#, "$.entityType: missing"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER"}"#, "entityRef or entityId"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"A","attributes":[1]}"#, "$.attributes: expected an object, got an array"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"A","attributes":"x"}"#, "$.attributes: expected an object, got a string"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"A","colour":"red"}"#, "$.colour: unknown field"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"A","type":"ORCHESTRATION_AUDIT"}"#, "$.type: expected one of"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"A","scheduledOn":"tomorrow"}"#, "$.scheduledOn"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"A","attributes":{"s":"\ud800"}}"#, "lone UTF-16 high surrogate"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"A","attributes":{"n":1e400}}"#, "$.attributes.n"),
        ]
        for (body, expected) in cases {
            let response = try server.request("POST", "/api/v4.1/event/async", token: token, body: Array(body.utf8))
            #expect(response.status == 400, "\(body)")
            #expect(response.errorMessage?.contains(expected) == true, "\(body): \(response.text)")
        }

        let invalidUTF8 = Array(#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let utf8Response = try server.request("POST", "/api/v4.1/event/async", token: token, body: invalidUTF8)
        #expect(utf8Response.status == 400)
        #expect(utf8Response.errorMessage?.contains("UTF-8") == true)

        let count = try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events") }
        #expect(count == 0)
    }

    @Test func generatedByIsAuthenticatedUser() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token("retailer1")
        let eventID = try server.postEvent(Self.order, token: token)

        let body = try server.request("GET", "/api/v4.1/event/\(eventID)", token: token).json()
        #expect(body["generatedBy"] == "retailer1")
    }
}
