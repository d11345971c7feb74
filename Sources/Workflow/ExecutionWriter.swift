import EventStore

/// Writes an execution outcome inside one writer work item, so the event's final status and
/// every change of its execution commit together or not at all.
enum ExecutionWriter {
    /// The executed event was not PENDING or SCHEDULED any more: it was processed already.
    struct AlreadyProcessed: Error, CustomStringConvertible {
        let eventId: String
        var description: String { "event \(eventId) was processed already" }
    }

    /// Encodes the events of `outcome` for `write`. Call it on the worker thread, so the writer
    /// thread, which every execution shares, does not spend its time on JSON encoding.
    static func encodeEvents(of outcome: ExecutionOutcome) throws(EventRecordError) -> [EncodedEvent] {
        var encoded: [EncodedEvent] = []
        encoded.reserveCapacity(outcome.events.count)
        for event in outcome.events {
            encoded.append(try EncodedEvent(event))
        }
        return encoded
    }

    /// Stores `outcome`, whose events `events` encodes. Returns the ids the outbox gave its webhooks.
    static func write(_ outcome: ExecutionOutcome, events: [EncodedEvent], on connection: SQLiteConnection) throws -> [Int64] {
        guard try EventRecords.finishExecution(id: outcome.event.id, status: outcome.status, on: connection) else {
            throw AlreadyProcessed(eventId: outcome.event.id)
        }
        for write in outcome.entityWrites {
            if write.isNew {
                try EntityRecords.insert(write.entity, on: connection)
            } else {
                try EntityRecords.update(write.entity, on: connection)
            }
        }
        for event in events {
            try EventRecords.insert(event, on: connection)
        }
        var webhookIds: [Int64] = []
        for webhook in outcome.webhooks {
            webhookIds.append(try OutboxRecords.insert(webhook, on: connection))
        }
        return webhookIds
    }
}
