import EventStore
import JSON
import Testing

@Suite struct EncodedEventTests {
    @Test func encodedInsertStoresSameRow() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        var template = makeEvent(type: EventType.orchestrationAudit, category: "rule", entityId: "5512", rootEntityId: "1234",
                                 status: EventStatus.success, scheduledOn: 1_800_000_000_123,
                                 attributes: [["name": "ruleSet", "type": "STRING", "value": "Say \"hi\"\n"]])
        template.context.sourceEvents = [EventID.make(), EventID.make()]
        let direct = template
        var encoded = template
        encoded.id = EventID.make()
        let encodedRow = try EncodedEvent(encoded)
        #expect(encodedRow.id == encoded.id)

        try store.writer.perform { connection in
            try EventRecords.insert(direct, on: connection)
            try EventRecords.insert(encodedRow, on: connection)
        }

        let fetched = try store.read { try EventRecords.fetch(id: encoded.id, on: $0) }
        #expect(fetched == encoded)
        let directJSON = try store.read { try EventRecords.fetchJSON(id: direct.id, on: $0) }
        let encodedJSON = try store.read { try EventRecords.fetchJSON(id: encoded.id, on: $0) }
        let directText = String(decoding: try #require(directJSON).json, as: UTF8.self)
        let encodedText = String(decoding: try #require(encodedJSON).json, as: UTF8.self)
        #expect(encodedText == directText.replacingOccurrences(of: direct.id, with: encoded.id))
    }

    @Test func encodingRejectsInvalidID() {
        let event = makeEvent(id: "not-a-uuid")
        #expect(throws: EventRecordError.self) { try EncodedEvent(event) }
    }

    @Test func encodedInsertRejectsDuplicateID() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let event = makeEvent()
        let encoded = try EncodedEvent(event)
        try store.writer.perform { try EventRecords.insert(encoded, on: $0) }

        let error = #expect(throws: SQLiteError.self) {
            try store.writer.perform { try EventRecords.insert(encoded, on: $0) }
        }
        #expect(error?.isConstraint == true)
    }
}
