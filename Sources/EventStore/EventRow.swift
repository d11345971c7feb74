import JSON
import Telemetry

/// Turns a row selected with `EventRecords.columns` into an `Event` or into the API's JSON.
enum EventRow {
    static let retailerIdColumn: Int32 = 4
    static let eventStatusColumn: Int32 = 14

    static func decode(_ row: SQLiteStatement) throws -> Event {
        let id = EventIDBytes.text(row.bytes(0))

        let sourceEventsValue: JSONValue
        let attributes: JSONValue
        do {
            sourceEventsValue = try JSONParser().parse(row.bytes(6))
        } catch {
            throw EventRecordError.corruptColumn(id: id, column: "source_events", reason: "\(error)")
        }
        do {
            attributes = try JSONParser().parse(row.bytes(15))
        } catch {
            throw EventRecordError.corruptColumn(id: id, column: "attributes", reason: "\(error)")
        }
        let sourceEvents = sourceEventsValue.arrayValue?.compactMap(\.stringValue) ?? []

        let context = EventContext(sourceEvents: sourceEvents, entityType: row.optionalText(7), entityId: row.optionalText(8),
                                   entityRef: row.optionalText(9), entitySubtype: row.optionalText(10),
                                   rootEntityType: row.optionalText(11), rootEntityId: row.optionalText(12),
                                   rootEntityRef: row.optionalText(13))
        return Event(id: id, name: row.text(1), type: row.text(2), accountId: row.text(3), retailerId: row.text(4),
                     category: row.optionalText(5), context: context, eventStatus: row.text(14), attributes: attributes,
                     source: row.optionalText(16), generatedBy: row.text(17), generatedOn: row.integer(18),
                     scheduledOn: row.optionalInteger(19), chainDepth: Int(row.integer(20)))
    }

    /// Appends the event as the API renders it, in this key order: id, name, type, accountId,
    /// retailerId, category, context{sourceEvents, entityType, entityId, entityRef, entitySubtype,
    /// rootEntityType, rootEntityId, rootEntityRef}, eventStatus, attributes, source, generatedBy,
    /// generatedOn, then scheduledOn when set. Absent optional values are `null`.
    static func appendJSON(_ row: SQLiteStatement, to output: inout [UInt8]) {
        output.append(contentsOf: #"{"id":""#.utf8)
        row.withBytes(0) { EventIDBytes.appendText(of: UnsafeRawBufferPointer($0), to: &output) }
        output.append(UInt8(ascii: "\""))

        appendText(key: "name", row, 1, to: &output)
        appendText(key: "type", row, 2, to: &output)
        appendText(key: "accountId", row, 3, to: &output)
        appendText(key: "retailerId", row, 4, to: &output)
        appendText(key: "category", row, 5, to: &output)

        output.append(contentsOf: #","context":{"sourceEvents":"#.utf8)
        row.withBytes(6) { output.append(contentsOf: $0) }
        appendText(key: "entityType", row, 7, to: &output)
        appendText(key: "entityId", row, 8, to: &output)
        appendText(key: "entityRef", row, 9, to: &output)
        appendText(key: "entitySubtype", row, 10, to: &output)
        appendText(key: "rootEntityType", row, 11, to: &output)
        appendText(key: "rootEntityId", row, 12, to: &output)
        appendText(key: "rootEntityRef", row, 13, to: &output)
        output.append(UInt8(ascii: "}"))

        appendText(key: "eventStatus", row, 14, to: &output)
        // Attributes were validated and encoded by JSONWriter before they were stored.
        output.append(contentsOf: #","attributes":"#.utf8)
        row.withBytes(15) { output.append(contentsOf: $0) }
        appendText(key: "source", row, 16, to: &output)
        appendText(key: "generatedBy", row, 17, to: &output)
        appendTime(key: "generatedOn", row, 18, to: &output)
        if !row.isNull(19) {
            appendTime(key: "scheduledOn", row, 19, to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }

    private static func appendText(key: StaticString, _ row: SQLiteStatement, _ column: Int32, to output: inout [UInt8]) {
        appendKey(key, to: &output)
        if row.isNull(column) {
            output.append(contentsOf: "null".utf8)
        } else {
            // SQLite returns the UTF-8 that was bound, and only valid Swift strings are bound.
            row.withBytes(column) { JSONWriter.writeString(utf8: $0, into: &output) }
        }
    }

    private static func appendTime(key: StaticString, _ row: SQLiteStatement, _ column: Int32, to output: inout [UInt8]) {
        appendKey(key, to: &output)
        output.append(UInt8(ascii: "\""))
        output.append(contentsOf: TimeFormat.iso8601(milliseconds: row.integer(column)).utf8)
        output.append(UInt8(ascii: "\""))
    }

    private static func appendKey(_ key: StaticString, to output: inout [UInt8]) {
        // Single appends: an array literal here would allocate for every key.
        output.append(UInt8(ascii: ","))
        output.append(UInt8(ascii: "\""))
        output.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        output.append(UInt8(ascii: "\""))
        output.append(UInt8(ascii: ":"))
    }
}
