import EventStore
import Foundation
import Synchronization
import Testing

/// The group-commit write path and the list planner seen through HTTP: concurrent POSTs that
/// share Idempotency-Keys, then lists that merge audit and other events.
@Suite struct WritePathHTTPTests {
    /// A POST's key, body variant and response.
    struct Post {
        let key: String?
        let variant: Int
        let status: Int
        let eventID: String?
    }

    static func body(key: String?, variant: Int, thread: Int, index: Int) -> String {
        let reference = key.map { "K-\($0)-v\(variant)" } ?? "N-\(thread)-\(index)"
        return #"{"name":"Probe","retailerId":"1","entityType":"ORDER","entityRef":"\#(reference)","rootEntityType":"ORDER","rootEntityRef":"ROOT"}"#
    }

    @Test func idempotencyConflictsUnderLoad() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        // Six clients share eight keys, each key sent with one of two bodies, so the same group
        // often contains a first use, a replay and a conflict of one key.
        let threads = 6
        let postsPerThread = 20
        let posts = Mutex<[Post]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var state = UInt64(97 + thread)
            func nextRandom(_ bound: Int) -> Int {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Int((state >> 33) % UInt64(bound))
            }
            for index in 0..<postsPerThread {
                let key: String? = nextRandom(4) == 0 ? nil : "key-\(nextRandom(8))"
                let variant = nextRandom(2)
                let json = Self.body(key: key, variant: variant, thread: thread, index: index)
                let headers = key.map { [("Idempotency-Key", $0)] } ?? []
                let response = try? server.request("POST", "/api/v4.1/event/async", token: token, headers: headers, json: json)
                let eventID = try? response?.json()["eventId"]?.stringValue
                posts.withLock { $0.append(Post(key: key, variant: variant, status: response?.status ?? 0, eventID: eventID)) }
            }
        }

        let all = posts.withLock { $0 }
        #expect(all.count == threads * postsPerThread)
        for post in all {
            #expect(post.status == 200 || (post.status == 409 && post.key != nil), "\(post)")
        }

        // Per key, every 200 names one event, and every 409 sent the other body.
        let stored = try server.store.read { connection -> [String: Event] in
            var events: [String: Event] = [:]
            let page = try EventRecords.list(EventQuery(name: "Probe", count: 5000), on: connection)
            for event in page.results { events[event.id] = event }
            return events
        }
        for key in Set(all.compactMap(\.key)) {
            let uses = all.filter { $0.key == key }
            let accepted = uses.filter { $0.status == 200 }
            #expect(Set(accepted.map(\.eventID)).count == 1, "key \(key): \(accepted)")
            guard let first = accepted.first, let eventID = first.eventID, let event = stored[eventID] else {
                Issue.record("key \(key) has no stored event")
                continue
            }
            #expect(event.context.entityRef == "K-\(key)-v\(first.variant)")
            #expect(accepted.allSatisfy { $0.variant == first.variant }, "key \(key)")
            #expect(uses.filter { $0.status == 409 }.allSatisfy { $0.variant != first.variant }, "key \(key)")
        }
        let acceptedIDs = Set(all.filter { $0.status == 200 }.compactMap(\.eventID))
        #expect(Set(stored.keys) == acceptedIDs)
    }

    @Test func mergedListsMatchStoredEvents() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        // Posted events and engine-written audits share one name and tied times, so
        // `name=Probe` without a type walks the partial name index and the time index together.
        for index in 0..<30 {
            try server.postEvent(Self.body(key: nil, variant: 0, thread: 0, index: index), token: token)
        }
        let audits = (0..<40).map { index in
            EventListRoutesTests.event("Probe", offset: Int64(index % 4), type: EventType.orchestrationAudit,
                                       status: index % 3 == 0 ? EventStatus.failed : EventStatus.success,
                                       category: "ruleSet", entityRef: "A-\(index)", rootEntityRef: "ROOT")
        }
        try EventListRoutesTests.seed(server, audits)

        let cases: [(query: String, expected: (Event) -> Bool)] = [
            ("name=Probe", { $0.name == "Probe" }),
            ("name=Probe&eventStatus=FAILED", { $0.name == "Probe" && $0.eventStatus == EventStatus.failed }),
            ("retailerId=1&eventStatus=PENDING", { $0.eventStatus == EventStatus.pending }),
            ("category=ruleSet", { $0.category == "ruleSet" }),
            ("eventType=ORCHESTRATION_AUDIT", { $0.type == EventType.orchestrationAudit }),
        ]
        let everyEvent = try server.store.read { try EventRecords.list(EventQuery(count: 5000), on: $0).results }
        #expect(everyEvent.count == 70)
        for (query, matches) in cases {
            let expected = everyEvent.filter(matches)
                .sorted { ($0.generatedOn, $0.id) > ($1.generatedOn, $1.id) }
                .map(\.id)
            #expect(!expected.isEmpty, "\(query)")

            // Pages of 7 must visit each matching event once, in order.
            var visited: [String] = []
            var start = 0
            for _ in 0..<20 {
                let response = try server.request("GET", "/api/v4.1/event?\(query)&count=7&start=\(start)", token: token)
                #expect(response.status == 200, "\(query): \(response.text)")
                let ids = try EventListRoutesTests.ids(response)
                visited += ids
                start += ids.count
                if try response.json()["hasMore"] != true { break }
            }
            #expect(visited == expected, "\(query)")
        }
    }
}
