import EventStore
import Foundation
import JSON
import Testing

/// A small seeded generator (SplitMix64), so a failing case reproduces from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Compares `EventRecords.list` with a brute-force filter and sort over the same events, for
/// random queries that take every path of the list planner: entity indexes, partial indexes,
/// the time index for audits, and the merge of both.
@Suite struct ListPlannerDifferentialTests {
    static let base: Int64 = 1_764_583_200_000
    static let names = ["CREATE", "ConfirmPick", "Ship", "RuleSetExecuted"]
    static let categories: [String?] = [nil, "ruleSet", "rule", "ACTION"]
    static let retailers = ["1", "2", "3", "4"]
    static let entityTypes: [String?] = [nil, "ORDER", "FULFILMENT"]
    static let entityIds: [String?] = [nil, "11", "12"]
    static let entityRefs: [String?] = [nil, "HD-1", "HD-2", "CC-7"]
    static let rootTypes: [String?] = [nil, "ORDER", "INVENTORY_CATALOGUE"]
    static let rootIds: [String?] = [nil, "11", "21"]
    static let rootRefs: [String?] = [nil, "HD-1", "DEFAULT"]
    static let auditStatuses = [EventStatus.success, EventStatus.failed]

    /// Makes events of every type, with tied `generatedOn` values and audit statuses as the engine writes them.
    static func randomEvents(count: Int, using generator: inout SeededGenerator) -> [Event] {
        (0..<count).map { _ in
            let type = EventType.all.randomElement(using: &generator)!
            let status = type == EventType.orchestrationAudit
                ? auditStatuses.randomElement(using: &generator)!
                : EventStatus.all.randomElement(using: &generator)!
            let generatedOn = base + Int64.random(in: 0..<60, using: &generator)
            return Event(
                id: EventID.make(milliseconds: generatedOn), name: names.randomElement(using: &generator)!, type: type,
                accountId: "ACME", retailerId: retailers.randomElement(using: &generator)!,
                category: categories.randomElement(using: &generator)!,
                context: EventContext(sourceEvents: [], entityType: entityTypes.randomElement(using: &generator)!,
                                      entityId: entityIds.randomElement(using: &generator)!,
                                      entityRef: entityRefs.randomElement(using: &generator)!, entitySubtype: nil,
                                      rootEntityType: rootTypes.randomElement(using: &generator)!,
                                      rootEntityId: rootIds.randomElement(using: &generator)!,
                                      rootEntityRef: rootRefs.randomElement(using: &generator)!),
                eventStatus: status, attributes: [:], source: nil, generatedBy: "tests", generatedOn: generatedOn)
        }
    }

    /// Makes a query with each filter set at random, now and then to a value no event has.
    static func randomQuery(using generator: inout SeededGenerator) -> EventQuery {
        func pick(_ values: [String?]) -> String? {
            guard Int.random(in: 0..<4, using: &generator) == 0 else { return nil }
            if Int.random(in: 0..<10, using: &generator) == 0 { return "NONE" }
            return values.compactMap { $0 }.randomElement(using: &generator)
        }
        var query = EventQuery()
        query.rootEntityType = pick(rootTypes)
        query.rootEntityId = pick(rootIds)
        query.rootEntityRef = pick(rootRefs)
        query.entityType = pick(entityTypes)
        query.entityId = pick(entityIds)
        query.entityRef = pick(entityRefs)
        query.name = pick(names)
        query.category = pick(categories)
        query.eventType = pick(EventType.all)
        query.eventStatus = pick(EventStatus.all)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: query.retailerIds = [retailers.randomElement(using: &generator)!]
        case 1: query.retailerIds = Array(retailers.shuffled(using: &generator).prefix(Int.random(in: 2...3, using: &generator)))
        case 2 where Int.random(in: 0..<4, using: &generator) == 0: query.retailerIds = []
        default: break
        }
        if Bool.random(using: &generator) { query.from = base + Int64.random(in: -5..<60, using: &generator) }
        if Bool.random(using: &generator) { query.to = base + Int64.random(in: 0..<65, using: &generator) }
        return query
    }

    /// Returns the ids of the events `query` matches before paging, newest first and ties by id descending.
    static func expectedIDs(_ query: EventQuery, in events: [Event]) -> [String] {
        events.filter { event in
            let context = event.context
            func matches(_ filter: String?, _ value: String?) -> Bool { filter == nil || filter == value }
            return matches(query.rootEntityType, context.rootEntityType)
                && matches(query.rootEntityId, context.rootEntityId)
                && matches(query.rootEntityRef, context.rootEntityRef)
                && matches(query.entityType, context.entityType)
                && matches(query.entityId, context.entityId)
                && matches(query.entityRef, context.entityRef)
                && matches(query.name, event.name)
                && matches(query.category, event.category)
                && matches(query.eventType, event.type)
                && matches(query.eventStatus, event.eventStatus)
                && (query.retailerIds.map { $0.contains(event.retailerId) } ?? true)
                && (query.from.map { event.generatedOn >= $0 } ?? true)
                && (query.to.map { event.generatedOn <= $0 } ?? true)
        }
        .sorted { ($0.generatedOn, $0.id) > ($1.generatedOn, $1.id) }
        .map(\.id)
    }

    @Test func randomQueriesMatchBruteForce() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        var generator = SeededGenerator(seed: 20_261_205)
        let events = Self.randomEvents(count: 800, using: &generator)
        try store.writer.perform { connection in
            for event in events { try EventRecords.insert(event, on: connection) }
        }

        var mergedRounds = 0
        var nonEmptyRounds = 0
        for round in 0..<600 {
            var query = Self.randomQuery(using: &generator)
            let expected = Self.expectedIDs(query, in: events)
            if EventRecords.listStatementForTesting(query).sql.contains("UNION ALL") { mergedRounds += 1 }
            if !expected.isEmpty { nonEmptyRounds += 1 }
            query.start = Int.random(in: 0...max(0, expected.count + 2), using: &generator)
            query.count = Int.random(in: 1...40, using: &generator)

            let page = try store.read { try EventRecords.list(query, on: $0) }
            let expectedPage = Array(expected.dropFirst(query.start).prefix(query.count))
            #expect(page.results.map(\.id) == expectedPage, "round \(round): \(query)")
            #expect(page.hasMore == (expected.count > query.start + query.count), "round \(round): \(query)")
        }
        // The seed must reach the merge of partial and time indexes, and enough matches to page.
        #expect(mergedRounds >= 50, "only \(mergedRounds) rounds took the merge path")
        #expect(nonEmptyRounds >= 200, "only \(nonEmptyRounds) rounds matched an event")
    }

    @Test func pagingVisitsEachEventOnce() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        var generator = SeededGenerator(seed: 77)
        let events = Self.randomEvents(count: 500, using: &generator)
        try store.writer.perform { connection in
            for event in events { try EventRecords.insert(event, on: connection) }
        }

        for round in 0..<120 {
            var query = Self.randomQuery(using: &generator)
            let expected = Self.expectedIDs(query, in: events)
            query.count = Int.random(in: 1...25, using: &generator)

            var visited: [String] = []
            var pages = 0
            while pages <= expected.count + 1 {
                let page = try store.read { try EventRecords.list(query, on: $0) }
                visited += page.results.map(\.id)
                pages += 1
                guard page.hasMore else { break }
                query.start += query.count
            }
            #expect(visited == expected, "round \(round): \(query)")
            #expect(Set(visited).count == visited.count, "round \(round): an event appeared on two pages")
        }
    }

    @Test func randomQueriesNeverSort() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        var generator = SeededGenerator(seed: 4242)
        for _ in 0..<400 {
            let query = Self.randomQuery(using: &generator)
            if query.retailerIds?.isEmpty == true { continue }
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
}
