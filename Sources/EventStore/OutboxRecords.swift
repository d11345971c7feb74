import JSON

/// Reads and writes rows of the `webhook_outbox` table.
public enum OutboxRecords {
    private static let columns = """
    id, event_id, webhook_name, url, payload, context, account_id, retailer_id, state, attempts, next_attempt_on, \
    last_error, created_on
    """

    /// Inserts a webhook and returns its id.
    @discardableResult
    public static func insert(_ webhook: OutboxWebhook, on connection: SQLiteConnection) throws -> Int64 {
        try connection.run("""
            INSERT INTO webhook_outbox (event_id, webhook_name, url, payload, context, account_id, retailer_id, state, attempts,
                next_attempt_on, last_error, created_on, updated_on)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
            .text(webhook.eventId), .text(webhook.webhookName), .text(webhook.url), .blob(webhook.payload),
            .blob(JSONWriter.encode(encode(webhook.context))), .text(webhook.accountId), .text(webhook.retailerId),
            .text(webhook.state.rawValue), .integer(Int64(webhook.attempts)), .integer(webhook.nextAttemptOn),
            webhook.lastError.map { .text($0) } ?? .null, .integer(webhook.createdOn), .integer(webhook.createdOn),
        ])
        return connection.lastInsertRowID
    }

    /// Returns PENDING webhooks due at `now` (epoch milliseconds), earliest first.
    public static func fetchDue(now: Int64, limit: Int, on connection: SQLiteConnection) throws -> [OutboxWebhook] {
        var result: [OutboxWebhook] = []
        try connection.query("""
            SELECT \(columns) FROM webhook_outbox WHERE state = 'PENDING' AND next_attempt_on <= ?
            ORDER BY next_attempt_on, id LIMIT ?
            """, [.integer(now), .integer(Int64(limit))]) { row in
            result.append(try decode(row))
        }
        return result
    }

    /// Returns the earliest `next_attempt_on` of a PENDING webhook, or nil when none waits.
    public static func nextAttemptTime(on connection: SQLiteConnection) throws -> Int64? {
        try connection.scalarInteger("SELECT min(next_attempt_on) FROM webhook_outbox WHERE state = 'PENDING'")
    }

    public static func fetch(id: Int64, on connection: SQLiteConnection) throws -> OutboxWebhook? {
        var result: OutboxWebhook?
        try connection.query("SELECT \(columns) FROM webhook_outbox WHERE id = ?", [.integer(id)]) { row in
            result = try decode(row)
        }
        return result
    }

    /// Returns the webhooks of one executed event, oldest first.
    public static func fetchAll(eventId: String, on connection: SQLiteConnection) throws -> [OutboxWebhook] {
        var result: [OutboxWebhook] = []
        try connection.query("SELECT \(columns) FROM webhook_outbox WHERE event_id = ? ORDER BY id", [.text(eventId)]) { row in
            result.append(try decode(row))
        }
        return result
    }

    /// Stores the outcome of an attempt.
    public static func recordAttempt(id: Int64, state: OutboxWebhook.State, attempts: Int, nextAttemptOn: Int64,
                                     lastError: String?, now: Int64, on connection: SQLiteConnection) throws {
        try connection.run("""
            UPDATE webhook_outbox SET state = ?, attempts = ?, next_attempt_on = ?, last_error = ?, updated_on = ? WHERE id = ?
            """, [.text(state.rawValue), .integer(Int64(attempts)), .integer(nextAttemptOn),
                  lastError.map { .text($0) } ?? .null, .integer(now), .integer(id)])
    }

    private static func decode(_ row: SQLiteStatement) throws -> OutboxWebhook {
        let context = decodeContext(try JSONParser().parse(row.bytes(5)))
        return OutboxWebhook(id: row.integer(0), eventId: row.text(1), webhookName: row.text(2), url: row.text(3),
                             payload: row.bytes(4), context: context, accountId: row.text(6), retailerId: row.text(7),
                             state: OutboxWebhook.State(rawValue: row.text(8)) ?? .failed, attempts: Int(row.integer(9)),
                             nextAttemptOn: row.integer(10), lastError: row.optionalText(11), createdOn: row.integer(12))
    }

    private static func encode(_ context: EventContext) -> JSONValue {
        var object = JSONObject()
        object["sourceEvents"] = .array(context.sourceEvents.map { .string($0) })
        let fields: [(String, String?)] = [
            ("entityType", context.entityType), ("entityId", context.entityId), ("entityRef", context.entityRef),
            ("entitySubtype", context.entitySubtype), ("rootEntityType", context.rootEntityType),
            ("rootEntityId", context.rootEntityId), ("rootEntityRef", context.rootEntityRef),
        ]
        for (key, value) in fields {
            if let value { object[key] = .string(value) }
        }
        return .object(object)
    }

    private static func decodeContext(_ value: JSONValue) -> EventContext {
        EventContext(sourceEvents: value["sourceEvents"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                     entityType: value["entityType"]?.stringValue, entityId: value["entityId"]?.stringValue,
                     entityRef: value["entityRef"]?.stringValue, entitySubtype: value["entitySubtype"]?.stringValue,
                     rootEntityType: value["rootEntityType"]?.stringValue, rootEntityId: value["rootEntityId"]?.stringValue,
                     rootEntityRef: value["rootEntityRef"]?.stringValue)
    }
}
