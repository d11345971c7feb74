extension EventRecords {
    /// Sets the final status of an executed event, but only while it is still PENDING or
    /// SCHEDULED. Returns false when the event is missing or was processed already, so an
    /// execution committed twice (a duplicate queue entry) is detected and rolled back.
    public static func finishExecution(id: String, status: String, on connection: SQLiteConnection) throws -> Bool {
        guard let idBytes = EventIDBytes.bytes(id) else { return false }
        try connection.run("""
            UPDATE events SET event_status = ? WHERE id = ? AND event_status IN ('PENDING', 'SCHEDULED')
            """, [.text(status), .blob(idBytes)])
        return connection.changes == 1
    }
}
