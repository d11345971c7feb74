import EventStore
import JSON

/// Rebuilds the `/event/sync` report of an event that was processed earlier, from its stored
/// status and its audits, for a retry that arrives after the first request stopped waiting.
enum StoredExecutionReport {
    enum State: Equatable {
        case processed(ExecutionReport)
        /// PENDING or SCHEDULED: the queue has not executed it yet.
        case waiting
        case notFound
    }

    /// Reads the state of `eventId`. For a processed event, the entity id comes from its
    /// snapshot or exception audit, and the error message of a FAILED or NO_MATCH event from
    /// its exception audit.
    static func read(eventId: String, on connection: SQLiteConnection) throws -> State {
        guard let event = try EventRecords.fetch(id: eventId, on: connection) else { return .notFound }
        let finalStatuses = [EventStatus.complete, EventStatus.failed, EventStatus.noMatch]
        guard finalStatuses.contains(event.eventStatus) else { return .waiting }

        var entityId = event.context.entityId
        var errorMessage: String?
        let sourceEvents = JSONWriter.encodeString(.array([.string(eventId)]))
        // Audits carry the executed event's entity context, so the entity's index bounds the
        // search to that entity's events. Times are not compared, because a clock may step back.
        let (sql, values) = auditSearch(event, sourceEvents: sourceEvents)
        try connection.query(sql, values) { row in
            if entityId == nil {
                entityId = row.optionalText(1)
            }
            if errorMessage == nil, row.optionalText(0) == AuditCategory.exception,
               let attributes = try? JSONParser().parse(row.bytes(2)) {
                errorMessage = attributes.arrayValue?.first { $0["name"]?.stringValue == "message" }?["value"]?.stringValue
            }
        }

        let report = ExecutionReport(eventId: eventId, entityId: entityId, status: event.eventStatus,
                                     errorMessage: event.eventStatus == EventStatus.complete ? nil : errorMessage)
        return .processed(report)
    }

    private static func auditSearch(_ event: Event, sourceEvents: String) -> (String, [SQLiteValue]) {
        let columns = "SELECT category, entity_id, attributes FROM events"
        let filter = "source_events = ? AND type = ? ORDER BY generated_on, id"
        let values: [SQLiteValue] = [.text(sourceEvents), .text(EventType.orchestrationAudit)]
        if let entityRef = event.context.entityRef {
            return ("\(columns) INDEXED BY events_by_entity_ref WHERE entity_ref = ? AND \(filter)", [.text(entityRef)] + values)
        }
        if let entityId = event.context.entityId {
            return ("\(columns) INDEXED BY events_by_entity_id WHERE entity_id = ? AND \(filter)", [.text(entityId)] + values)
        }
        // NOTE: an event without entityRef and entityId fails before it touches an entity, and
        // finding its exception audit reads the whole events table.
        return ("\(columns) INDEXED BY events_by_time WHERE \(filter)", values)
    }
}
