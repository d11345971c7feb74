import EventStore
import Foundation
import JSON
import Testing

@Suite struct EventRecordsTests {
    @Test func insertThenFetchRoundTrips() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let event = makeEvent(category: "ORDER_WORKFLOW", entityId: "5512", rootEntityId: "1234",
                              scheduledOn: 1_800_000_000_123)
        try store.writer.perform { connection in try EventRecords.insert(event, on: connection) }

        let fetched = try store.read { connection in try EventRecords.fetch(id: event.id, on: connection) }
        #expect(fetched == event)
    }

    @Test func fetchUnknownIDReturnsNil() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let missing = try store.read { try EventRecords.fetch(id: EventID.make(), on: $0) }
        #expect(missing == nil)
        let malformed = try store.read { try EventRecords.fetch(id: "not-a-uuid", on: $0) }
        #expect(malformed == nil)
    }

    @Test func fetchJSONKeepsKeyOrder() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let event = makeEvent(generatedOn: 1_764_583_200_000, attributes: ["b": 1, "a": [true, nil]])
        try store.writer.perform { try EventRecords.insert(event, on: $0) }
        let found = try store.read { try EventRecords.fetchJSON(id: event.id, on: $0) }
        let json = String(decoding: try #require(found).json, as: UTF8.self)

        let expected = #"{"id":"\#(event.id)","name":"CREATE","type":"ORCHESTRATION","accountId":"ACME","retailerId":"1","category":null,"context":{"sourceEvents":[],"entityType":"ORDER","entityId":null,"entityRef":"HD-1","entitySubtype":"HD","rootEntityType":"ORDER","rootEntityId":null,"rootEntityRef":"HD-1"},"eventStatus":"PENDING","attributes":{"b":1,"a":[true,null]},"source":"tests","generatedBy":"demo","generatedOn":"2025-12-01T10:00:00.000Z"}"#
        #expect(json == expected)
        #expect(found?.retailerId == "1")
    }

    @Test func updateStatusChangesOneEvent() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let first = makeEvent()
        let second = makeEvent()
        try store.writer.perform { connection in
            try EventRecords.insert(first, on: connection)
            try EventRecords.insert(second, on: connection)
        }
        let updated = try store.writer.perform { try EventRecords.updateStatus(id: first.id, status: EventStatus.complete, on: $0) }
        #expect(updated)
        let missing = try store.writer.perform { try EventRecords.updateStatus(id: EventID.make(), status: EventStatus.complete, on: $0) }
        #expect(!missing)

        let statuses = try store.read { connection in
            [try EventRecords.fetch(id: first.id, on: connection)?.eventStatus,
             try EventRecords.fetch(id: second.id, on: connection)?.eventStatus]
        }
        #expect(statuses == [EventStatus.complete, EventStatus.pending])
    }

    @Test func eventsWithStatusOldestFirst() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let late = makeEvent(generatedOn: 2_000)
        let early = makeEvent(generatedOn: 1_000)
        let done = makeEvent(status: EventStatus.complete, generatedOn: 500)
        try store.writer.perform { connection in
            for event in [late, early, done] { try EventRecords.insert(event, on: connection) }
        }
        let pending = try store.read { try EventRecords.events(withStatus: EventStatus.pending, on: $0) }
        #expect(pending.map(\.id) == [early.id, late.id])
    }

    @Test func duplicateIDIsRejected() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let event = makeEvent()
        try store.writer.perform { try EventRecords.insert(event, on: $0) }
        #expect(throws: SQLiteError.self) {
            try store.writer.perform { try EventRecords.insert(event, on: $0) }
        }
    }
}
