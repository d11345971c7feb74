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
    ///
    /// Audit events are in the time, id and entity indexes only (`AuditIndexSchema`), so:
    /// - an entity or root id or ref filter uses its own index, which holds every event;
    /// - otherwise a query that cannot match an audit (another `eventType`, or a status no
    ///   audit has) uses the partial index of its first filter;
    /// - a query for audits walks the time index;
    /// - a query that can match both merges the two, each walked in the response order
    ///   (a compound SELECT whose ORDER BY SQLite runs as a merge, without a sort).
    static func listStatement(_ query: EventQuery) -> (sql: String, values: [SQLiteValue]) {
        var conditions: [String] = []
        var values: [SQLiteValue] = []

        // The filters in the order their index is preferred. Ids and refs match few rows;
        // types and statuses match many.
        let everyEvent: [(column: String, index: String, value: String?)] = [
            ("entity_id", "events_by_entity_id", query.entityId),
            ("entity_ref", "events_by_entity_ref", query.entityRef),
            ("root_entity_id", "events_by_root_entity_id", query.rootEntityId),
            ("root_entity_ref", "events_by_root_entity_ref", query.rootEntityRef),
        ]
        let notAudits: [(column: String, index: String, value: String?)] = [
            ("name", "events_by_name", query.name),
            ("retailer_id", "events_by_retailer", query.retailerIds?.count == 1 ? query.retailerIds?.first : nil),
            ("category", "events_by_category", query.category),
            ("event_status", "events_by_status", query.eventStatus),
            ("entity_type", "events_by_entity_type", query.entityType),
            ("root_entity_type", "events_by_root_entity_type", query.rootEntityType),
            ("type", "events_by_type", query.eventType),
        ]
        for equality in everyEvent + notAudits {
            guard let value = equality.value else { continue }
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

        func select(index: String, extra: String?) -> String {
            var sql = "SELECT \(columns) FROM events INDEXED BY \(index)"
            let all = conditions + (extra.map { [$0] } ?? [])
            if !all.isEmpty {
                sql += " WHERE " + all.joined(separator: " AND ")
            }
            return sql
        }

        var sql: String
        var allValues = values
        let partialIndex = notAudits.first { $0.value != nil }?.index
        let auditsOnly = query.eventType == EventType.orchestrationAudit
        let noAudits = (query.eventType != nil && !auditsOnly)
            || (query.eventStatus.map { !AuditIndexSchema.auditStatuses.contains($0) } ?? false)
        if let index = everyEvent.first(where: { $0.value != nil })?.index {
            sql = select(index: index, extra: nil)
        } else if let partialIndex, noAudits {
            sql = select(index: partialIndex, extra: AuditIndexSchema.excludesAudits)
        } else if let partialIndex, !auditsOnly {
            // NOTE: the audit side of this merge walks the time index, so a filter that matches
            // few audits (a rare name or category) reads every audit in the time range to find
            // them: narrow it with `from`/`to` or an entity filter.
            sql = select(index: partialIndex, extra: AuditIndexSchema.excludesAudits)
                + " UNION ALL "
                + select(index: "events_by_time", extra: "type = '\(EventType.orchestrationAudit)'")
            allValues += values
        } else {
            sql = select(index: "events_by_time", extra: nil)
        }

        // Reading one row more than the page shows whether another page follows.
        sql += " ORDER BY generated_on DESC, id DESC LIMIT ? OFFSET ?"
        allValues.append(.integer(Int64(query.count) + 1))
        allValues.append(.integer(Int64(query.start)))
        return (sql, allValues)
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
