import EventStore
import EventsAPI
import Foundation
import JSON
import Synchronization
import Telemetry
import Testing

/// Failures reported against other servers, each replayed against ours.
@Suite struct FailureCaseTests {
    static let probe = #"{"name":"Probe","retailerId":"1","entityType":"ORDER","entityRef":"P-1"}"#
    static let smuggled = #"{"name":"Smuggled","retailerId":"1","entityType":"ORDER","entityRef":"S-1"}"#

    static func eventCount(_ server: TestServer) throws -> Int64 {
        try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events") } ?? -1
    }

    static func smuggledCount(_ server: TestServer, token: String) throws -> Int {
        let response = try server.request("GET", "/api/v4.1/event?name=Smuggled", token: token)
        return try response.json()["results"]?.arrayValue?.count ?? -1
    }

    // MARK: - Framing (smuggling checks)

    @Test func contentLengthWithChunkedIsNotSmuggled() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let second = "POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(Self.smuggled.utf8.count)\r\n\r\n\(Self.smuggled)"
        let variants = [
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            "content-length: 5\r\ntRaNsFeR-eNcOdInG: chunked\r\n",
        ]
        for framing in variants {
            let client = try server.client()
            try client.write("POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n\(framing)\r\n0\r\n\r\n" + second)
            let response = try client.readResponse()
            #expect(response.status == 400, "\(framing)")
            #expect(response.header("Connection")?.lowercased() == "close", "\(framing)")
            #expect(client.isClosedByServer(), "\(framing)")
        }
        #expect(try Self.smuggledCount(server, token: token) == 0)
        #expect(try Self.eventCount(server) == 0)
    }

    @Test func pipelinedRequestsAnsweredInOrder() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let client = try server.client()
        let auth = "Authorization: Bearer \(token)\r\n"
        try client.write("GET /api/v4.1/event?name=Probe HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)\r\n"
            + "POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(Self.probe.utf8.count)\r\n\r\n\(Self.probe)"
            + "GET /api/v4.1/event?name=Probe HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)\r\n")
        let first = try client.readResponse()
        let second = try client.readResponse()
        let third = try client.readResponse()

        #expect(first.status == 200)
        #expect(try first.json()["count"] == 0)
        #expect(second.status == 200)
        #expect(try second.json()["eventStatus"] == "PENDING")
        #expect(third.status == 200)
        #expect(try third.json()["results"]?.arrayValue != nil)
        #expect(try Self.eventCount(server) == 1)
        #expect(try Self.smuggledCount(server, token: token) == 0)
    }

    // MARK: - JSON and query strings

    @Test func deepNestingIs400() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let deep = #"{"name":"Probe","retailerId":"1","entityType":"ORDER","entityRef":"P-1","attributes":{"a":"# + String(repeating: "[", count: 100_000) + "}"
        let started = Date()
        let response = try server.request("POST", "/api/v4.1/event/async", token: token, body: Array(deep.utf8))
        #expect(response.status == 400)
        #expect(response.errorMessage?.contains("nesting is deeper than the limit of 64") == true)
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(try Self.eventCount(server) == 0)

        // The server keeps serving.
        #expect(try server.request("GET", "/api/v4.1/event", token: token).status == 200)
    }

    @Test func numbersOutOfRangeAre400() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        for literal in ["-9223372036854775809", "9223372036854775808", "1e400", "-1e400"] {
            let body = #"{"name":"Probe","retailerId":"1","entityType":"ORDER","entityRef":"P-1","attributes":{"quantity":\#(literal)}}"#
            let response = try server.request("POST", "/api/v4.1/event/async", token: token, json: body)
            #expect(response.status == 400, "\(literal)")
            #expect(response.errorMessage?.contains("$.attributes.quantity") == true, "\(literal): \(response.text)")
            #expect(response.errorMessage?.contains("out of range") == true, "\(literal)")
        }
        // The largest and smallest integers are kept exactly, never clamped or wrapped.
        let edges = #"{"name":"Probe","retailerId":"1","entityType":"ORDER","entityRef":"P-1","attributes":{"max":9223372036854775807,"min":-9223372036854775808}}"#
        let eventID = try server.postEvent(edges, token: token)
        let stored = try server.request("GET", "/api/v4.1/event/\(eventID)", token: token)
        #expect(stored.text.contains(#""attributes":{"max":9223372036854775807,"min":-9223372036854775808}"#))

        for query in ["count=99999999999999999999", "start=-9223372036854775809", "count=1e400"] {
            let response = try server.request("GET", "/api/v4.1/event?" + query, token: token)
            #expect(response.status == 400, "\(query)")
            let name = String(query.prefix { $0 != "=" })
            #expect(response.errorMessage?.hasPrefix(name) == true, "\(query): \(response.text)")
        }
        #expect(try Self.eventCount(server) == 1)
    }

    @Test func duplicateKeysAre400() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let cases = [
            #"{"name":"A","name":"B","retailerId":"1","entityType":"ORDER","entityRef":"P-1"}"#,
            #"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"P-1","attributes":{"role":"user","role":"admin"}}"#,
            #"{"name":"A","retailerId":"1","retailerId":"2","entityType":"ORDER","entityRef":"P-1"}"#,
        ]
        for body in cases {
            let response = try server.request("POST", "/api/v4.1/event/async", token: token, json: body)
            #expect(response.status == 400, "\(body)")
            #expect(response.errorMessage?.contains("duplicate key") == true, "\(body): \(response.text)")
        }
        #expect(try Self.eventCount(server) == 0)
    }

    @Test func fractionalSecondsAndOffsetsAccepted() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        // Events at 09:59:59.999, 10:00:00.000, .200, .500 and .501 on 2026-12-01 (UTC).
        let offsets: [Int64] = [-1, 0, 200, 500, 501]
        let events = offsets.map { EventListRoutesTests.event("Tick", offset: $0, entityRef: "T", rootEntityRef: "T") }
        try EventListRoutesTests.seed(server, events)

        let cases: [(String, Int)] = [
            ("2026-12-01T10:00:00Z", 4),
            ("2026-12-01T10:00:00.5Z", 2),
            ("2026-12-01T10:00:00.123456789Z", 3),
            ("2026-12-01T12:00:00%2B02:00", 4),
            ("2026-12-01T12:00:00+02:00", 4),
            ("2026-12-01T12:00:00.000%2B0200", 4),
            ("2026-12-01T05:00:00.5-05:00", 2),
            ("2026-12-01T10:00:00.00Z", 4),
        ]
        for (from, expected) in cases {
            let response = try server.request("GET", "/api/v4.1/event?name=Tick&from=\(from)", token: token)
            #expect(response.status == 200, "\(from): \(response.text)")
            #expect(try response.json()["count"]?.integerValue == Int64(expected), "\(from)")
        }
    }

    // MARK: - Storage

    @Test func timestampsCompareAsInstants() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        // scheduledOn written with an offset and a short fraction is stored as the instant.
        let response = try server.request("POST", "/api/v4.1/event/async", token: token,
                                          json: #"{"name":"Later","retailerId":"1","entityType":"ORDER","entityRef":"A","scheduledOn":"2030-01-01T12:00:00.5+02:00"}"#)
        let eventID = try #require(try response.json()["eventId"]?.stringValue)
        let stored = try server.request("GET", "/api/v4.1/event/\(eventID)", token: token).json()
        #expect(stored["scheduledOn"] == "2030-01-01T10:00:00.500Z")

        // `to` in two notations of one instant selects the same events, in instant order.
        let events = [EventListRoutesTests.event("Tick", offset: 90, entityRef: "T", rootEntityRef: "T"),
                      EventListRoutesTests.event("Tick", offset: 100, entityRef: "T", rootEntityRef: "T"),
                      EventListRoutesTests.event("Tick", offset: 1_000, entityRef: "T", rootEntityRef: "T")]
        try EventListRoutesTests.seed(server, events)
        let utc = try server.request("GET", "/api/v4.1/event?name=Tick&from=2026-11-01T00:00:00Z&to=2026-12-01T10:00:00.1Z", token: token)
        let offset = try server.request("GET", "/api/v4.1/event?name=Tick&from=2026-11-01T00:00:00Z&to=2026-12-01T11:30:00.100%2B01:30", token: token)
        #expect(try EventListRoutesTests.ids(utc) == [events[1].id, events[0].id])
        #expect(try EventListRoutesTests.ids(offset) == [events[1].id, events[0].id])
    }

    @Test func concurrentPostsWhileEngineWrites() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        // A stand-in for the workflow engine: audit rows written through the same writer.
        let stop = Atomic<Bool>(false)
        let auditsWritten = Atomic<Int>(0)
        let engine = Thread {
            while !stop.load(ordering: .relaxed) {
                let audit = Event(id: EventID.make(), name: "ConfirmPick", type: EventType.orchestrationAudit, accountId: "ACME",
                                  retailerId: "1", category: "rule", context: EventContext(entityType: "ORDER", entityRef: "E"),
                                  eventStatus: EventStatus.success, generatedBy: "engine", generatedOn: TimeFormat.nowMilliseconds())
                if (try? server.store.writer.perform({ try EventRecords.insert(audit, on: $0) })) != nil {
                    auditsWritten.add(1, ordering: .relaxed)
                }
            }
        }
        engine.start()

        let statuses = Mutex<[Int: Int]>([:])
        DispatchQueue.concurrentPerform(iterations: 16) { clientIndex in
            guard let client = try? server.client() else {
                statuses.withLock { $0[-1, default: 0] += 50 }
                return
            }
            for index in 0..<50 {
                let body = #"{"name":"Load","retailerId":"1","entityType":"ORDER","entityRef":"L-\#(clientIndex)-\#(index)"}"#
                let status = (try? client.request("POST", "/api/v4.1/event/async",
                                                  headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                                                  body: Array(body.utf8)).status) ?? -1
                statuses.withLock { $0[status, default: 0] += 1 }
            }
        }
        stop.store(true, ordering: .relaxed)
        while !engine.isFinished { usleep(1000) }

        #expect(statuses.withLock { $0 } == [200: 800])
        let loads = try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events WHERE name = 'Load'") }
        #expect(loads == 800)
        let distinct = try server.store.read { try $0.scalarInteger("SELECT count(DISTINCT entity_ref) FROM events WHERE name = 'Load'") }
        #expect(distinct == 800)
        let audits = try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events WHERE type = 'ORCHESTRATION_AUDIT'") }
        #expect(audits == Int64(auditsWritten.load(ordering: .relaxed)))
        #expect(auditsWritten.load(ordering: .relaxed) > 0)
    }

    @Test func retriedPostWithIdempotencyKey() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        let key = ("Idempotency-Key", "order-HD-1001-create")

        let first = try server.request("POST", "/api/v4.1/event/async", token: token, headers: [key], json: Self.probe)
        #expect(first.status == 200)
        let second = try server.request("POST", "/api/v4.1/event/async", token: token, headers: [key], json: Self.probe)
        #expect(second.status == 200)
        #expect(second.body == first.body)
        #expect(second.header("Location") == first.header("Location"))
        #expect(second.header("Idempotent-Replayed") == "true")

        // The same JSON with other whitespace is the same request.
        let spaced = try server.request("POST", "/api/v4.1/event/async", token: token, headers: [key],
                                        json: Self.probe.replacingOccurrences(of: ",", with: ", "))
        #expect(spaced.body == first.body)
        #expect(try Self.eventCount(server) == 1)

        let different = try server.request("POST", "/api/v4.1/event/async", token: token, headers: [key], json: Self.smuggled)
        #expect(different.status == 409)
        #expect(different.errorMessage?.contains("order-HD-1001-create") == true)
        #expect(different.errorMessage?.contains("different body") == true)
        #expect(try Self.eventCount(server) == 1)

        // Keys belong to a user: another user's identical key is a new request.
        let other = try server.token("retailer1")
        let otherUser = try server.request("POST", "/api/v4.1/event/async", token: other, headers: [key], json: Self.probe)
        #expect(otherUser.status == 200)
        #expect(otherUser.body != first.body)
        #expect(try Self.eventCount(server) == 2)
    }

    @Test func idempotencyKeyExpiresAfterADay() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        let key = ("Idempotency-Key", "k-1")

        let first = try server.request("POST", "/api/v4.1/event/async", token: token, headers: [key], json: Self.probe)
        server.clock.advance(seconds: 86_401)
        let fresh = try server.token()
        let later = try server.request("POST", "/api/v4.1/event/async", token: fresh, headers: [key], json: Self.smuggled)
        #expect(later.status == 200)
        #expect(later.body != first.body)
    }

    @Test func concurrentRetriesStoreOneEvent() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let bodies = Mutex<Set<[UInt8]>>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let response = try? server.request("POST", "/api/v4.1/event/async", token: token,
                                                  headers: [("Idempotency-Key", "same")], json: Self.probe),
               response.status == 200 {
                bodies.withLock { _ = $0.insert(response.body) }
            }
        }
        #expect(bodies.withLock { $0.count } == 1)
        #expect(try Self.eventCount(server) == 1)
    }

    @Test func invalidIdempotencyKeysAre400() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let long = try server.request("POST", "/api/v4.1/event/async", token: token,
                                      headers: [("Idempotency-Key", String(repeating: "k", count: 256))], json: Self.probe)
        #expect(long.status == 400)
        let twice = try server.request("POST", "/api/v4.1/event/async", token: token,
                                       headers: [("Idempotency-Key", "a"), ("Idempotency-Key", "b")], json: Self.probe)
        #expect(twice.status == 400)
        #expect(try Self.eventCount(server) == 0)
    }
}
