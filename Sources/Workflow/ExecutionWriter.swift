import EventStore

/// Writes an execution outcome inside one writer work item, so the event's final status and
/// every change of its execution commit together or not at all.
enum ExecutionWriter {
    /// The executed event was not PENDING or SCHEDULED any more: it was processed already.
    struct AlreadyProcessed: Error, CustomStringConvertible {
        let eventId: String
        var description: String { "event \(eventId) was processed already" }
    }

    /// The rows of an outcome, encoded for `write`.
    struct EncodedRows: Sendable {
        /// One per event of the outcome, in its order.
        var events: [EncodedEvent]
        /// The attributes of each entity write, in the order of `entityWrites`.
        var entityAttributes: [[UInt8]]
    }

    /// Encodes the events and entity attributes of `outcome` for `write`. Call it on the worker
    /// thread, so the writer thread, which every execution shares, spends no time on JSON.
    static func encode(_ outcome: ExecutionOutcome) throws(EventRecordError) -> EncodedRows {
        var events: [EncodedEvent] = []
        events.reserveCapacity(outcome.events.count)
        for event in outcome.events {
            events.append(try EncodedEvent(event))
        }
        let entityAttributes = outcome.entityWrites.map { EntityRecords.encodeAttributes(of: $0.entity) }
        return EncodedRows(events: events, entityAttributes: entityAttributes)
    }

    /// Stores `outcome` from its encoded `rows` and returns the outbox ids of its webhooks.
    static func write(_ outcome: ExecutionOutcome, rows: EncodedRows, on connection: SQLiteConnection) throws -> [Int64] {
        guard try EventRecords.finishExecution(id: outcome.event.id, status: outcome.status, on: connection) else {
            throw AlreadyProcessed(eventId: outcome.event.id)
        }
        for (write, attributes) in zip(outcome.entityWrites, rows.entityAttributes) {
            if write.isNew {
                try EntityRecords.insert(write.entity, attributes: attributes, on: connection)
            } else {
                try EntityRecords.update(write.entity, attributes: attributes, on: connection)
            }
        }
        for event in rows.events {
            try EventRecords.insert(event, on: connection)
        }
        var webhookIds: [Int64] = []
        for webhook in outcome.webhooks {
            webhookIds.append(try OutboxRecords.insert(webhook, on: connection))
        }
        return webhookIds
    }
}
