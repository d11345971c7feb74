/// Rows of the `tokens` table. Only the SHA-256 of a bearer token is stored.
public enum TokenRecords {
    /// A stored token: the hash of its value, who it was issued to and when it expires.
    public struct Token: Sendable, Equatable {
        public var hash: [UInt8]
        public var username: String
        public var clientId: String
        /// Epoch milliseconds.
        public var issuedOn: Int64
        /// Epoch milliseconds; the token is rejected from this instant on.
        public var expiresOn: Int64

        public init(hash: [UInt8], username: String, clientId: String, issuedOn: Int64, expiresOn: Int64) {
            self.hash = hash
            self.username = username
            self.clientId = clientId
            self.issuedOn = issuedOn
            self.expiresOn = expiresOn
        }
    }

    public static func insert(_ token: Token, on connection: SQLiteConnection) throws {
        try connection.run("""
            INSERT INTO tokens (token_hash, username, client_id, issued_on, expires_on) VALUES (?, ?, ?, ?, ?)
            """, [.blob(token.hash), .text(token.username), .text(token.clientId), .integer(token.issuedOn),
                  .integer(token.expiresOn)])
    }

    /// Returns the tokens that are still valid at `now` (epoch milliseconds).
    public static func active(at now: Int64, on connection: SQLiteConnection) throws -> [Token] {
        var tokens: [Token] = []
        try connection.query("""
            SELECT token_hash, username, client_id, issued_on, expires_on FROM tokens WHERE expires_on > ?
            """, [.integer(now)]) { row in
            tokens.append(Token(hash: row.bytes(0), username: row.text(1), clientId: row.text(2),
                                issuedOn: row.integer(3), expiresOn: row.integer(4)))
        }
        return tokens
    }

    /// Deletes the tokens that expired at or before `now`. Returns how many were deleted.
    @discardableResult
    public static func deleteExpired(at now: Int64, on connection: SQLiteConnection) throws -> Int {
        try connection.run("DELETE FROM tokens WHERE expires_on <= ?", [.integer(now)])
        return connection.changes
    }

    /// Deletes one token, for logout or revocation. Returns false when it was not stored.
    @discardableResult
    public static func delete(hash: [UInt8], on connection: SQLiteConnection) throws -> Bool {
        try connection.run("DELETE FROM tokens WHERE token_hash = ?", [.blob(hash)])
        return connection.changes > 0
    }
}
