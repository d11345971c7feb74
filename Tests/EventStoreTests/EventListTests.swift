import EventStore
import Foundation
import JSON
import Testing

@Suite struct EventListTests {
    /// Twelve events that differ in every filtered field, two per group where it matters.
    static func seed(_ store: EventStore, base: Int64) throws -> [Event] {
        let events = [
            makeEvent(name: "CREATE", retailerId: "1", entityType: "ORDER", entityId: "11", entityRef: "HD-1",
                      rootEntityId: "11", rootEntityRef: "HD-1", generatedOn: base + 1),
            makeEvent(name: "CREATE", retailerId: "1", entityType: "FULFILMENT", entityId: "21", entityRef: "HD-1-F1",
                      rootEntityId: "11", rootEntityRef: "HD-1", generatedOn: base + 2),
            makeEvent(name: "ConfirmPick", retailerId: "1", entityType: "FULFILMENT", entityRef: "HD-1-F1",
                      rootEntityRef: "HD-1", status: EventStatus.complete, generatedOn: base + 3),
            makeEvent(name: "ConfirmPick", type: EventType.orchestrationAudit, retailerId: "1", category: "ruleSet",
                      entityType: "FULFILMENT", entityRef: "HD-1-F1", rootEntityRef: "HD-1",
                      status: EventStatus.success, generatedOn: base + 4),
            makeEvent(name: "CREATE", retailerId: "2", entityType: "ORDER", entityRef: "CC-7", rootEntityRef: "CC-7",
                      generatedOn: base + 5),
            makeEvent(name: "Ship", type: EventType.general, retailerId: "2", entityType: "CONSIGNMENT", entityRef: "CON-1",
                      rootEntityType: "ORDER", rootEntityRef: "CC-7", status: EventStatus.complete, generatedOn: base + 6),
            makeEvent(name: "Adjust", type: EventType.api, retailerId: "3", entityType: "INVENTORY_POSITION",
                      entityRef: "SKU-1:DC", rootEntityType: "INVENTORY_CATALOGUE", rootEntityRef: "DEFAULT",
                      status: EventStatus.failed, generatedOn: base + 7),
            makeEvent(name: "Adjust", retailerId: "3", entityType: "INVENTORY_POSITION", entityRef: "SKU-2:DC",
                      rootEntityType: "INVENTORY_CATALOGUE", rootEntityRef: "DEFAULT", status: EventStatus.noMatch,
                      generatedOn: base + 8),
        ]
        try store.writer.perform { connection in
            for event in events { try EventRecords.insert(event, on: connection) }
        }
        return events
    }

    static func names(_ page: EventPage<Event>) -> [String] {
        page.results.map { "\($0.name)@\($0.generatedOn % 100)" }
    }

    @Test func everyFilterAloneAndCombined() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }
        let base: Int64 = 1_764_583_200_000
        let events = try Self.seed(store, base: base)
        func ids(_ offsets: [Int]) -> [String] { offsets.map { events[$0 - 1].id } }

        let cases: [(String, EventQuery, [Int])] = [
            ("no filter", EventQuery(), [8, 7, 6, 5, 4, 3, 2, 1]),
            ("rootEntityType", EventQuery(rootEntityType: "INVENTORY_CATALOGUE"), [8, 7]),
            ("rootEntityId", EventQuery(rootEntityId: "11"), [2, 1]),
            ("rootEntityRef", EventQuery(rootEntityRef: "CC-7"), [6, 5]),
            ("entityType", EventQuery(entityType: "FULFILMENT"), [4, 3, 2]),
            ("entityId", EventQuery(entityId: "21"), [2]),
            ("entityRef", EventQuery(entityRef: "HD-1-F1"), [4, 3, 2]),
            ("name", EventQuery(name: "ConfirmPick"), [4, 3]),
            ("category", EventQuery(category: "ruleSet"), [4]),
            ("one retailer", EventQuery(retailerIds: ["2"]), [6, 5]),
            ("two retailers", EventQuery(retailerIds: ["2", "3"]), [8, 7, 6, 5]),
            ("no retailer", EventQuery(retailerIds: []), []),
            ("eventType", EventQuery(eventType: EventType.api), [7]),
            ("eventStatus", EventQuery(eventStatus: EventStatus.complete), [6, 3]),
            ("from", EventQuery(from: base + 7), [8, 7]),
            ("to", EventQuery(to: base + 2), [2, 1]),
            ("from and to", EventQuery(from: base + 3, to: base + 5), [5, 4, 3]),
            ("entityRef and name", EventQuery(entityRef: "HD-1-F1", name: "ConfirmPick"), [4, 3]),
            ("root and type", EventQuery(rootEntityRef: "HD-1", eventType: EventType.orchestration), [3, 2, 1]),
            ("root, entity type, status", EventQuery(rootEntityRef: "HD-1", entityType: "FULFILMENT", eventStatus: EventStatus.pending), [2]),
            ("retailers and name", EventQuery(name: "CREATE", retailerIds: ["1", "2"]), [5, 2, 1]),
            ("all context filters", EventQuery(rootEntityType: "ORDER", rootEntityId: "11", rootEntityRef: "HD-1",
                                               entityType: "ORDER", entityId: "11", entityRef: "HD-1"), [1]),
            ("every filter", EventQuery(rootEntityType: "ORDER", rootEntityRef: "HD-1", entityType: "FULFILMENT",
                                        entityRef: "HD-1-F1", name: "ConfirmPick", category: "ruleSet", retailerIds: ["1"],
                                        eventType: EventType.orchestrationAudit, eventStatus: EventStatus.success,
                                        from: base + 4, to: base + 4), [4]),
            ("no match", EventQuery(name: "CREATE", eventType: EventType.api), []),
        ]
        for (label, query, expected) in cases {
            let page = try store.read { try EventRecords.list(query, on: $0) }
            #expect(page.results.map(\.id) == ids(expected), "\(label)")
            let json = try store.read { try EventRecords.listJSON(query, on: $0) }
            #expect(json.results.count == expected.count, "\(label) as JSON")
        }
    }

    @Test func pagingReportsHasMore() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }
        let events = try Self.seed(store, base: 1_764_583_200_000)

        let first = try store.read { try EventRecords.list(EventQuery(start: 0, count: 3), on: $0) }
        #expect(first.results.map(\.id) == [events[7].id, events[6].id, events[5].id])
        #expect(first.hasMore)
        let last = try store.read { try EventRecords.list(EventQuery(start: 6, count: 3), on: $0) }
        #expect(last.results.map(\.id) == [events[1].id, events[0].id])
        #expect(!last.hasMore)
        let exact = try store.read { try EventRecords.list(EventQuery(start: 5, count: 3), on: $0) }
        #expect(exact.results.count == 3)
        #expect(!exact.hasMore)
        let beyond = try store.read { try EventRecords.list(EventQuery(start: 100, count: 3), on: $0) }
        #expect(beyond.results.isEmpty)
        #expect(!beyond.hasMore)
    }

    @Test func pagingThroughTiedTimesYieldsEachOnce() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        // 10,000 events in ten groups of 1,000 that share one generatedOn each.
        let base: Int64 = 1_764_583_200_000
        let tied = (0..<10_000).map { index in
            makeEvent(id: EventID.make(milliseconds: base + Int64(index % 7)), entityRef: "R-\(index)",
                      generatedOn: base + Int64(index % 10))
        }
        let inserted = Set(tied.map(\.id))
        try store.writer.perform { connection in
            for event in tied { try EventRecords.insert(event, on: connection) }
        }

        var seen: [String] = []
        var start = 0
        var previous: (Int64, String)?
        while true {
            let page = try store.read { try EventRecords.list(EventQuery(start: start, count: 999), on: $0) }
            for event in page.results {
                if let previous {
                    #expect(previous.0 > event.generatedOn || (previous.0 == event.generatedOn && previous.1 > event.id))
                }
                previous = (event.generatedOn, event.id)
                seen.append(event.id)
            }
            start += page.results.count
            if !page.hasMore { break }
        }
        #expect(seen.count == 10_000)
        #expect(Set(seen) == inserted)
    }

    @Test func everyFilterUsesAnIndexInOrder() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let queries: [EventQuery] = [
            EventQuery(), EventQuery(rootEntityType: "ORDER"), EventQuery(rootEntityId: "1"), EventQuery(rootEntityRef: "A"),
            EventQuery(entityType: "ORDER"), EventQuery(entityId: "1"), EventQuery(entityRef: "A"), EventQuery(name: "A"),
            EventQuery(category: "rule"), EventQuery(retailerIds: ["1"]), EventQuery(eventType: "API"),
            EventQuery(eventStatus: "PENDING"), EventQuery(from: 1, to: 2),
            EventQuery(rootEntityRef: "A", name: "B", retailerIds: ["1"], eventType: "API", from: 5),
            EventQuery(name: "A", eventType: "ORCHESTRATION_AUDIT"), EventQuery(eventStatus: "FAILED"),
            EventQuery(category: "rule", eventStatus: "SUCCESS", from: 1), EventQuery(retailerIds: ["1"], eventStatus: "COMPLETE"),
        ]
        for query in queries {
            let plan = try store.read { connection -> String in
                let statement = EventRecords.listStatementForTesting(query)
                var lines: [String] = []
                try connection.query("EXPLAIN QUERY PLAN " + statement.sql, statement.values) { lines.append($0.text(3)) }
                return lines.joined(separator: "; ")
            }
            #expect(plan.contains("USING INDEX"), "\(query): \(plan)")
            #expect(!plan.contains("TEMP B-TREE"), "\(query): \(plan)")
        }
    }

    @Test func timesCompareAsInstants() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        // Times written with different fraction widths and offsets: parsed to one instant each.
        let texts = ["2026-12-01T10:00:00.5Z", "2026-12-01T12:00:00.000+02:00", "2026-12-01T10:00:00.123456789Z",
                     "2026-12-01T09:00:00.9-01:00", "2026-12-01T10:00:00.00Z"]
        let instants = texts.map { TimeFormatParse.milliseconds($0) }
        let events = instants.enumerated().map { makeEvent(entityRef: "T-\($0.offset)", generatedOn: $0.element) }
        try store.writer.perform { connection in
            for event in events { try EventRecords.insert(event, on: connection) }
        }

        let page = try store.read { try EventRecords.list(EventQuery(from: instants[1], to: instants[0]), on: $0) }
        // 10:00:00.000 (twice), .123 and .500 fall in [10:00:00.000, 10:00:00.500]; 10:00:00.900 does not.
        #expect(page.results.map(\.generatedOn) == [instants[0], instants[2], instants[1], instants[4]].sorted(by: >) )
        #expect(!page.results.contains { $0.id == events[3].id })
    }

    @Test func auditsMergeWithOtherEvents() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        // Audits are not in the partial name index: a name filter without an entity or a type
        // merges that index with the audits of the time index. Times tie in pairs across the two.
        var events: [Event] = []
        for index in 0..<40 {
            let isAudit = index % 2 == 1
            events.append(makeEvent(name: index % 4 < 2 ? "Shared" : "Other",
                                    type: isAudit ? EventType.orchestrationAudit : EventType.orchestration,
                                    category: isAudit ? "rule" : nil, entityRef: "M-\(index)",
                                    status: isAudit ? "SUCCESS" : EventStatus.complete,
                                    generatedOn: 1_700_000_000_000 + Int64(index / 2)))
        }
        let stored = events
        try store.writer.perform { connection in
            for event in stored { try EventRecords.insert(event, on: connection) }
        }

        func pages(_ query: EventQuery) throws -> [String] {
            var ids: [String] = []
            var query = query
            query.count = 3
            while true {
                let page = try store.read { try EventRecords.list(query, on: $0) }
                ids += page.results.map(\.id)
                query.start += page.results.count
                if !page.hasMore { break }
            }
            return ids
        }
        func expected(_ keep: (Event) -> Bool) -> [String] {
            events.filter(keep).sorted { ($0.generatedOn, $0.id) > ($1.generatedOn, $1.id) }.map(\.id)
        }

        #expect(try pages(EventQuery(name: "Shared")) == expected { $0.name == "Shared" })
        #expect(try pages(EventQuery(name: "Shared", eventType: EventType.orchestrationAudit))
                == expected { $0.name == "Shared" && $0.type == EventType.orchestrationAudit })
        #expect(try pages(EventQuery(name: "Shared", eventType: EventType.orchestration))
                == expected { $0.name == "Shared" && $0.type == EventType.orchestration })
        #expect(try pages(EventQuery(eventStatus: "SUCCESS")) == expected { $0.eventStatus == "SUCCESS" })
        #expect(try pages(EventQuery(eventStatus: EventStatus.complete)) == expected { $0.eventStatus == EventStatus.complete })
        #expect(try pages(EventQuery(category: "rule", retailerIds: ["1"])) == expected { $0.category == "rule" })
    }
}
