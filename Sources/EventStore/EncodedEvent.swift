import JSON

/// An event as the bound values of its `events` row.
///
/// Building one encodes the attributes and source events as JSON and converts the id to its
/// 16 bytes. The workflow engine builds them on its worker threads, and the API on the thread
/// that accepts the request, so the single writer thread only binds and steps the INSERT.
public struct EncodedEvent: Sendable {
    public let id: String
    /// The values of `EventRecords.insertSQL`, in the order of `EventRecords.columns`.
    let values: [SQLiteValue]

    /// Encodes `event`.
    /// - Throws: `EventRecordError.invalidID` when the id is not a lowercase UUID.
    public init(_ event: Event) throws(EventRecordError) {
        guard let idBytes = EventIDBytes.bytes(event.id) else { throw .invalidID(event.id) }
        let sourceEvents = JSONWriter.encodeString(.array(event.context.sourceEvents.map { .string($0) }))
        id = event.id
        values = [
            .blob(idBytes), .text(event.name), .text(event.type), .text(event.accountId), .text(event.retailerId),
            Self.optional(event.category), .text(sourceEvents), Self.optional(event.context.entityType),
            Self.optional(event.context.entityId), Self.optional(event.context.entityRef),
            Self.optional(event.context.entitySubtype), Self.optional(event.context.rootEntityType),
            Self.optional(event.context.rootEntityId), Self.optional(event.context.rootEntityRef),
            .text(event.eventStatus), .text(JSONWriter.encodeString(event.attributes)), Self.optional(event.source),
            .text(event.generatedBy), .integer(event.generatedOn), event.scheduledOn.map { .integer($0) } ?? .null,
            .integer(Int64(event.chainDepth)),
        ]
    }

    private static func optional(_ text: String?) -> SQLiteValue {
        text.map { .text($0) } ?? .null
    }
}

extension EventRecords {
    /// Built once, because the statement cache is keyed by the SQL text.
    static let insertSQL = "INSERT INTO events (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

    /// Inserts an event encoded beforehand.
    /// - Throws: `SQLiteError` (a constraint error) when an event with that id exists.
    public static func insert(_ encoded: EncodedEvent, on connection: SQLiteConnection) throws {
        try connection.run(insertSQL, encoded.values)
    }
}
