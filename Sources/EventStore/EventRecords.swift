import JSON

/// Reads and writes rows of the `events` table. Every function runs on the connection it is
/// given: the writer's inside `DatabaseWriter.submit`, or a reader's inside `EventStore.read`.
public enum EventRecords {
    /// The columns every query selects, in the order `EventRow` reads them.
    static let columns = """
        id, name, type, account_id, retailer_id, category, source_events, entity_type, entity_id, entity_ref, \
        entity_subtype, root_entity_type, root_entity_id, root_entity_ref, event_status, attributes, source, \
        generated_by, generated_on, scheduled_on, chain_depth
        """

    /// Built once: the statement cache is keyed by SQL text, which would otherwise be rebuilt per call.
    static let fetchByIDSQL = "SELECT \(columns) FROM events WHERE id = ?"

    /// Inserts `event`.
    /// - Throws: `EventRecordError.invalidID` when the id is not a lowercase UUID; `SQLiteError`
    ///   (a constraint error) when an event with that id exists.
    public static func insert(_ event: Event, on connection: SQLiteConnection) throws {
        try insert(EncodedEvent(event), on: connection)
    }

    /// Returns the event with `id`, or nil when there is none (or `id` is not a UUID).
    public static func fetch(id: String, on connection: SQLiteConnection) throws -> Event? {
        guard let idBytes = EventIDBytes.bytes(id) else { return nil }
        var event: Event?
        try connection.query(fetchByIDSQL, [.blob(idBytes)]) { row in
            event = try EventRow.decode(row)
        }
        return event
    }

    /// Returns the event with `id` rendered as the API's JSON object, with its retailer for
    /// access checks and its status, or nil when there is none. Faster than `fetch`: stored JSON
    /// is copied as is.
    public static func fetchJSON(id: String, on connection: SQLiteConnection) throws
        -> (retailerId: String, eventStatus: String, json: [UInt8])? {
        guard let idBytes = EventIDBytes.bytes(id) else { return nil }
        var found: (String, String, [UInt8])?
        try connection.query(fetchByIDSQL, [.blob(idBytes)]) { row in
            var output = [UInt8]()
            output.reserveCapacity(768)
            EventRow.appendJSON(row, to: &output)
            found = (row.text(EventRow.retailerIdColumn), row.text(EventRow.eventStatusColumn), output)
        }
        return found
    }

    /// Sets the status of the event `id`. Returns false when there is no such event.
    @discardableResult
    public static func updateStatus(id: String, status: String, on connection: SQLiteConnection) throws -> Bool {
        guard let idBytes = EventIDBytes.bytes(id) else { return false }
        try connection.run("UPDATE events SET event_status = ? WHERE id = ?", [.text(status), .blob(idBytes)])
        return connection.changes > 0
    }

    /// Returns every event with `status` except audits, oldest first (by `generatedOn`, then id),
    /// for the workflow engine's queue to reload at start. Audits are not in the status index
    /// (see `AuditIndexSchema`); list them with `list` and `eventType` ORCHESTRATION_AUDIT.
    /// Returns up to `limit` PENDING ORCHESTRATION events in commit order, each with its rowid,
    /// starting after the rowid `after`; from the oldest PENDING one when `after` is nil.
    ///
    /// The writer is the only one to insert, and SQLite gives a new row the largest rowid plus
    /// one (https://sqlite.org/autoinc.html), so rowids grow in commit order: a later call
    /// with the last rowid returned sees exactly the events committed after it, or left over.
    /// NOT INDEXED keeps SQLite on the rowid range (https://sqlite.org/lang_indexedby.html):
    /// through the status index it would read and sort every PENDING event at each call.
    public static func pendingOrchestrationEvents(after: Int64?, limit: Int, on connection: SQLiteConnection) throws
        -> [(rowid: Int64, event: Event)] {
        var start = after
        if start == nil {
            try connection.query("""
                SELECT min(rowid) FROM events INDEXED BY events_by_status
                WHERE event_status = ? AND \(AuditIndexSchema.excludesAudits) AND type = ?
                """, [.text(EventStatus.pending), .text(EventType.orchestration)]) { row in
                start = row.isNull(0) ? nil : row.integer(0) - 1
            }
        }
        guard let start else { return [] }
        var found: [(rowid: Int64, event: Event)] = []
        try connection.query("""
            SELECT \(columns), rowid FROM events NOT INDEXED
            WHERE rowid > ? AND event_status = ? AND type = ?
            ORDER BY rowid LIMIT ?
            """, [.integer(start), .text(EventStatus.pending), .text(EventType.orchestration), .integer(Int64(limit))]) { row in
            found.append((row.integer(21), try EventRow.decode(row)))
        }
        return found
    }

    /// Returns the PENDING ORCHESTRATION events of `retailerId` that name `rootRef` as their root's
    /// ref, or as their own ref without a root ref, in commit order (by rowid). The caller keeps
    /// the ones whose root it means: the type is not checked here.
    ///
    /// Both sides walk an entity index from the oldest PENDING event's `generated_on`, since
    /// no PENDING event is older, so a root with a long history is not read from its start.
    public static func pendingOrchestrationEvents(retailerId: String, rootRef: String, on connection: SQLiteConnection) throws
        -> [Event] {
        var oldest: Int64?
        try connection.query("""
            SELECT min(generated_on) FROM events INDEXED BY events_by_status
            WHERE event_status = ? AND \(AuditIndexSchema.excludesAudits)
            """, [.text(EventStatus.pending)]) { row in
            oldest = row.isNull(0) ? nil : row.integer(0)
        }
        guard let oldest else { return [] }

        let filter = "event_status = ?2 AND type = ?3 AND retailer_id = ?4 AND generated_on >= ?5"
        var events: [Event] = []
        try connection.query("""
            SELECT \(columns), rowid AS commit_order FROM events INDEXED BY events_by_root_entity_ref
            WHERE root_entity_ref = ?1 AND \(filter)
            UNION ALL
            SELECT \(columns), rowid AS commit_order FROM events INDEXED BY events_by_entity_ref
            WHERE entity_ref = ?1 AND root_entity_ref IS NULL AND \(filter)
            ORDER BY commit_order
            """, [.text(rootRef), .text(EventStatus.pending), .text(EventType.orchestration), .text(retailerId),
                  .integer(oldest)]) { row in
            events.append(try EventRow.decode(row))
        }
        return events
    }

    /// Counts the PENDING ORCHESTRATION events.
    public static func countPendingOrchestrationEvents(on connection: SQLiteConnection) throws -> Int {
        var count = 0
        try connection.query("""
            SELECT count(*) FROM events INDEXED BY events_by_status
            WHERE event_status = ? AND \(AuditIndexSchema.excludesAudits) AND type = ?
            """, [.text(EventStatus.pending), .text(EventType.orchestration)]) { row in
            count = Int(row.integer(0))
        }
        return count
    }

    public static func events(withStatus status: String, on connection: SQLiteConnection) throws -> [Event] {
        var events: [Event] = []
        try connection.query("""
            SELECT \(columns) FROM events INDEXED BY events_by_status
            WHERE event_status = ? AND \(AuditIndexSchema.excludesAudits)
            ORDER BY generated_on, id
            """, [.text(status)]) { row in
            events.append(try EventRow.decode(row))
        }
        return events
    }

}

/// A stored row that cannot become an `Event`, or an event that cannot be stored.
public enum EventRecordError: Error, CustomStringConvertible {
    case invalidID(String)
    case corruptColumn(id: String, column: String, reason: String)

    public var description: String {
        switch self {
        case .invalidID(let id):
            return "event id \"\(id)\" is not a lowercase UUID such as 0190f1a2-7b3c-7d4e-8f00-112233445566"
        case .corruptColumn(let id, let column, let reason):
            return "event \(id) has an unreadable \(column) column: \(reason)"
        }
    }
}
