import EventStore
import EventsAPI
import Foundation
import JSON
import Telemetry
import Testing

@Suite struct EventListRoutesTests {
    /// Stores events with fixed times (2026-12-01T10:00:00Z plus `offsets` in ms) directly.
    static func seed(_ server: TestServer, _ events: [Event]) throws {
        try server.store.writer.perform { connection in
            for event in events { try EventRecords.insert(event, on: connection) }
        }
    }

    static let base: Int64 = 1_796_119_200_000  // 2026-12-01T10:00:00.000Z

    static func event(_ name: String, offset: Int64, retailerId: String = "1", type: String = EventType.orchestration,
                      status: String = EventStatus.pending, category: String? = nil, entityType: String = "ORDER",
                      entityId: String? = nil, entityRef: String, rootEntityType: String = "ORDER",
                      rootEntityId: String? = nil, rootEntityRef: String) -> Event {
        Event(id: EventID.make(milliseconds: base + offset), name: name, type: type, accountId: "ACME", retailerId: retailerId,
              category: category,
              context: EventContext(entityType: entityType, entityId: entityId, entityRef: entityRef,
                                    rootEntityType: rootEntityType, rootEntityId: rootEntityId, rootEntityRef: rootEntityRef),
              eventStatus: status, generatedBy: "demo", generatedOn: base + offset)
    }

    static func ids(_ response: TestResponse) throws -> [String] {
        try response.json()["results"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    @Test func everyParameterFiltersOverHTTP() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        let events = [
            Self.event("CREATE", offset: 1, entityId: "11", entityRef: "HD-1", rootEntityId: "11", rootEntityRef: "HD-1"),
            Self.event("ConfirmPick", offset: 2, status: EventStatus.complete, entityType: "FULFILMENT", entityId: "21",
                       entityRef: "HD-1-F1", rootEntityId: "11", rootEntityRef: "HD-1"),
            Self.event("ConfirmPick", offset: 3, type: EventType.orchestrationAudit, status: EventStatus.success,
                       category: "ruleSet", entityType: "FULFILMENT", entityRef: "HD-1-F1", rootEntityRef: "HD-1"),
            Self.event("CREATE", offset: 4, retailerId: "2", entityType: "LOCATION", entityRef: "DC-1",
                       rootEntityType: "LOCATION", rootEntityRef: "DC-1"),
        ]
        try Self.seed(server, events)
        let from = "&from=2026-12-01T00:00:00Z"

        let cases: [(String, [Int])] = [
            ("context.rootEntityType=LOCATION", [3]),
            ("context.rootEntityId=11", [1, 0]),
            ("context.rootEntityRef=HD-1", [2, 1, 0]),
            ("context.entityType=FULFILMENT", [2, 1]),
            ("context.entityId=21", [1]),
            ("context.entityRef=HD-1-F1", [2, 1]),
            ("name=CREATE", [3, 0]),
            ("category=ruleSet", [2]),
            ("retailerId=2", [3]),
            ("eventType=ORCHESTRATION_AUDIT", [2]),
            ("eventStatus=COMPLETE", [1]),
            ("name=ConfirmPick&eventType=ORCHESTRATION", [1]),
            ("context.rootEntityRef=HD-1&context.entityType=FULFILMENT&eventStatus=SUCCESS&retailerId=1", [2]),
            ("to=2026-12-01T10:00:00.002Z", [1, 0]),
            ("to=2026-12-01T10:00:00.003Z&name=ConfirmPick&count=1", [2]),
            ("to=2026-12-01T10:00:00.003Z&name=ConfirmPick&count=1&start=1", [1]),
        ]
        for (query, expected) in cases {
            let response = try server.request("GET", "/api/v4.1/event?" + query + from, token: token)
            #expect(response.status == 200, "\(query): \(response.text)")
            #expect(try Self.ids(response) == expected.map { events[$0].id }, "\(query)")
        }
    }

    @Test func listEnvelopeAndPaging() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        for index in 0..<5 {
            try server.postEvent(#"{"name":"CREATE","retailerId":"1","entityType":"ORDER","entityRef":"HD-\#(index)"}"#, token: token)
        }

        let first = try server.request("GET", "/api/v4.1/event?count=2", token: token).json()
        #expect(first.objectValue?.keys == ["start", "count", "hasMore", "results"])
        #expect(first["start"] == 0)
        #expect(first["count"] == 2)
        #expect(first["hasMore"] == true)
        #expect(first["results"]?.arrayValue?.compactMap { $0["context"]?["entityRef"]?.stringValue } == ["HD-4", "HD-3"])

        let last = try server.request("GET", "/api/v4.1/event?count=2&start=4", token: token).json()
        #expect(last["start"] == 4)
        #expect(last["count"] == 1)
        #expect(last["hasMore"] == false)

        let all = try server.request("GET", "/api/v4.1/event", token: token).json()
        #expect(all["count"] == 5)
        #expect(all["hasMore"] == false)
    }

    @Test func pagingTiedTimesOverHTTP() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        // 10,000 events sharing five generatedOn values.
        let events = (0..<10_000).map { index in
            Self.event("Tie", offset: Int64(index % 5), entityRef: "T-\(index)", rootEntityRef: "T")
        }
        try Self.seed(server, events)

        var seen: [String] = []
        var start = 0
        var pages = 0
        while pages < 20 {
            let response = try server.request("GET", "/api/v4.1/event?name=Tie&from=2026-12-01T00:00:00Z&count=1500&start=\(start)", token: token)
            #expect(response.status == 200)
            let body = try response.json()
            let ids = body["results"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            seen += ids
            start += ids.count
            pages += 1
            if body["hasMore"] != true { break }
        }
        #expect(pages == 7)
        #expect(seen.count == 10_000)
        #expect(Set(seen) == Set(events.map(\.id)))
    }

    @Test func defaultWindowIsThirtyDays() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        let now = TimeFormat.nowMilliseconds()
        let old = Event(id: EventID.make(milliseconds: now - 31 * 86_400_000), name: "Old", type: EventType.orchestration,
                        accountId: "ACME", retailerId: "1", context: EventContext(entityType: "ORDER", entityRef: "A"),
                        eventStatus: EventStatus.complete, generatedBy: "demo", generatedOn: now - 31 * 86_400_000)
        try Self.seed(server, [old])
        let recent = try server.postEvent(#"{"name":"New","retailerId":"1","entityType":"ORDER","entityRef":"A"}"#, token: token)

        let window = try server.request("GET", "/api/v4.1/event", token: token)
        #expect(try Self.ids(window) == [recent])
        let explicit = try server.request("GET", "/api/v4.1/event?from=2000-01-01T00:00:00Z", token: token)
        #expect(try Self.ids(explicit) == [recent, old.id])
    }

    @Test func invalidParametersAre400() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        try server.postEvent(#"{"name":"CREATE","retailerId":"1","entityType":"ORDER","entityRef":"A"}"#, token: token)

        let cases: [(String, String)] = [
            ("colour=red", "unknown query parameter \"colour\""),
            ("rootEntityRef=A", "unknown query parameter \"rootEntityRef\""),
            ("name=A&name=B", "name is given more than once"),
            ("name=", "name is empty"),
            ("count=0", "count must be a whole number from 1 to 5000"),
            ("count=5001", "count must be a whole number from 1 to 5000"),
            ("count=abc", "got \"abc\""),
            ("count=+5", "got \"+5\""),
            ("count=1.5", "count must be"),
            ("start=-1", "start must be a whole number from 0"),
            ("start=99999999999999999999", "start must be"),
            ("from=yesterday", "from must be an ISO 8601 time"),
            ("to=2026-13-01T00:00:00Z", "to must be an ISO 8601 time"),
            ("from=2026-12-01T00:00:00", "from must be"),
            ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "is after to"),
            ("to=2020-01-01T00:00:00Z", "without from only the last 30 days are searched"),
            ("eventType=AUDIT", "eventType must be one of ORCHESTRATION"),
            ("eventStatus=DONE", "eventStatus must be one of PENDING"),
        ]
        for (query, expected) in cases {
            let response = try server.request("GET", "/api/v4.1/event?" + query, token: token)
            #expect(response.status == 400, "\(query)")
            #expect(response.errorMessage?.contains(expected) == true, "\(query): \(response.text)")
            #expect(try response.json()["results"] == nil, "\(query)")
        }
    }
}
