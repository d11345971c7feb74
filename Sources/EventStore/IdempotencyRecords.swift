/// Rows of the `idempotency_keys` table: the first response to a POST with an
/// `Idempotency-Key`, replayed for retries of the same request by the same user.
public enum IdempotencyRecords {
    /// A stored first response.
    public struct Entry: Sendable, Equatable {
        public var username: String
        public var key: String
        /// SHA-256 of the request body, to tell a retry from a different request.
        public var requestHash: [UInt8]
        public var responseStatus: Int
        public var responseBody: [UInt8]
        /// Epoch milliseconds.
        public var createdOn: Int64

        public init(username: String, key: String, requestHash: [UInt8], responseStatus: Int, responseBody: [UInt8],
                    createdOn: Int64) {
            self.username = username
            self.key = key
            self.requestHash = requestHash
            self.responseStatus = responseStatus
            self.responseBody = responseBody
            self.createdOn = createdOn
        }
    }

    /// Returns the entry for `key` of `username` created at or after `notBefore` (epoch ms), or
    /// nil when there is none: an older entry has expired and is treated as absent.
    public static func find(username: String, key: String, notBefore: Int64, on connection: SQLiteConnection) throws -> Entry? {
        var entry: Entry?
        try connection.query("""
            SELECT request_hash, response_status, response_body, created_on FROM idempotency_keys
            WHERE username = ? AND idempotency_key = ? AND created_on >= ?
            """, [.text(username), .text(key), .integer(notBefore)]) { row in
            entry = Entry(username: username, key: key, requestHash: row.bytes(0), responseStatus: Int(row.integer(1)),
                          responseBody: row.bytes(2), createdOn: row.integer(3))
        }
        return entry
    }

    /// Stores `entry`, replacing an expired entry with the same user and key.
    public static func save(_ entry: Entry, on connection: SQLiteConnection) throws {
        try connection.run("""
            INSERT OR REPLACE INTO idempotency_keys
                (username, idempotency_key, request_hash, response_status, response_body, created_on)
            VALUES (?, ?, ?, ?, ?, ?)
            """, [.text(entry.username), .text(entry.key), .blob(entry.requestHash), .integer(Int64(entry.responseStatus)),
                  .blob(entry.responseBody), .integer(entry.createdOn)])
    }

    /// Deletes entries created before `cutoff` (epoch ms). Returns how many were deleted.
    @discardableResult
    public static func deleteOlder(than cutoff: Int64, on connection: SQLiteConnection) throws -> Int {
        try connection.run("DELETE FROM idempotency_keys WHERE created_on < ?", [.integer(cutoff)])
        return connection.changes
    }
}
