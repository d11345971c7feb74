/// Filtered, paged lists of events.
extension EventRecords {
    /// Returns one page of events matching `query`, newest first.
    public static func list(_ query: EventQuery, on connection: SQLiteConnection) throws -> EventPage<Event> {
        var events: [Event] = []
        let hasMore = try listRows(query, on: connection) { row in
            events.append(try EventRow.decode(row))
        }
        return EventPage(start: query.start, results: events, hasMore: hasMore)
    }

    /// Returns one page of events matching `query`, newest first, each rendered as the API's
    /// JSON object (see `fetchJSON`).
    ///
    /// The page ends early, with `hasMore` true, before the event that would take the rendered
    /// events past `maximumBytes` (counting one separator byte per event). The first event is
    /// always returned, however large, so a client can page past it.
    public static func listJSON(_ query: EventQuery, maximumBytes: Int = .max,
                                on connection: SQLiteConnection) throws -> EventPage<[UInt8]> {
        var events: [[UInt8]] = []
        var totalBytes = 0
        var hasMore: Bool
        do {
            hasMore = try listRows(query, on: connection) { row in
                var output = [UInt8]()
                output.reserveCapacity(768)
                EventRow.appendJSON(row, to: &output)
                guard events.isEmpty || totalBytes + output.count + 1 <= maximumBytes else {
                    throw PageByteLimitReached()
                }
                totalBytes += output.count + 1
                events.append(output)
            }
        } catch is PageByteLimitReached {
            hasMore = true
        }
        return EventPage(start: query.start, results: events, hasMore: hasMore)
    }

    /// Ends the row loop of `listJSON` once a page is full; never leaves this file.
    private struct PageByteLimitReached: Error {}

    /// Builds the SQL and parameters for `query`. The first filter in preference order picks the index.
    static func listStatement(_ query: EventQuery) -> (sql: String, values: [SQLiteValue]) {
        var conditions: [String] = []
        var values: [SQLiteValue] = []

        // The filters in the order their index is preferred: the first one present picks the
        // index. Ids and refs match few rows; types and statuses match many.
        let equalities: [(column: String, index: String, value: String?)] = [
            ("entity_id", "events_by_entity_id", query.entityId),
            ("entity_ref", "events_by_entity_ref", query.entityRef),
            ("root_entity_id", "events_by_root_entity_id", query.rootEntityId),
            ("root_entity_ref", "events_by_root_entity_ref", query.rootEntityRef),
            ("name", "events_by_name", query.name),
            ("retailer_id", "events_by_retailer", query.retailerIds?.count == 1 ? query.retailerIds?.first : nil),
            ("category", "events_by_category", query.category),
            ("event_status", "events_by_status", query.eventStatus),
            ("entity_type", "events_by_entity_type", query.entityType),
            ("root_entity_type", "events_by_root_entity_type", query.rootEntityType),
            ("type", "events_by_type", query.eventType),
        ]
        var index = "events_by_time"
        for equality in equalities {
            guard let value = equality.value else { continue }
            if index == "events_by_time" { index = equality.index }
            conditions.append("\(equality.column) = ?")
            values.append(.text(value))
        }

        // NOTE: several retailers (a user limited to more than one) have no index of their own:
        // they are checked on the rows of the chosen index, or of the time index without filters.
        if let retailerIds = query.retailerIds, retailerIds.count > 1 {
            conditions.append("retailer_id IN (\(Array(repeating: "?", count: retailerIds.count).joined(separator: ", ")))")
            values.append(contentsOf: retailerIds.map { .text($0) })
        }
        if let from = query.from {
            conditions.append("generated_on >= ?")
            values.append(.integer(from))
        }
        if let to = query.to {
            conditions.append("generated_on <= ?")
            values.append(.integer(to))
        }

        var sql = "SELECT \(columns) FROM events INDEXED BY \(index)"
        if !conditions.isEmpty {
            sql += " WHERE " + conditions.joined(separator: " AND ")
        }
        // Reading one row more than the page shows whether another page follows.
        sql += " ORDER BY generated_on DESC, id DESC LIMIT ? OFFSET ?"
        values.append(.integer(Int64(query.count) + 1))
        values.append(.integer(Int64(query.start)))
        return (sql, values)
    }

    /// Calls `row` for each event of the page and returns whether more follow.
    private static func listRows(_ query: EventQuery, on connection: SQLiteConnection,
                                 row: (SQLiteStatement) throws -> Void) throws -> Bool {
        if let retailerIds = query.retailerIds, retailerIds.isEmpty { return false }
        guard query.count > 0 else { return false }

        let (sql, values) = listStatement(query)
        var seen = 0
        var hasMore = false
        try connection.query(sql, values) { statement in
            seen += 1
            if seen > query.count {
                hasMore = true
            } else {
                try row(statement)
            }
        }
        return hasMore
    }
}

extension EventRecords {
    /// Builds the SQL and parameters of a list query, for tests that check its query plan.
    public static func listStatementForTesting(_ query: EventQuery) -> (sql: String, values: [SQLiteValue]) {
        listStatement(query)
    }
}
