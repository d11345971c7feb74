/// One schema change, applied once in its own write transaction.
public struct Migration: Sendable {
    /// The value of `PRAGMA user_version` after this migration; versions start at 1 with no gaps.
    public let version: Int
    public let name: String
    /// SQL statements run in order inside the migration's transaction.
    public let statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// The database schema as an ordered list of migrations, tracked with `PRAGMA user_version`
/// (https://sqlite.org/pragma.html#pragma_user_version).
///
/// Every table is `STRICT` (https://sqlite.org/stricttables.html) and every time is an INTEGER of
/// epoch milliseconds, so times compare as instants and never as text. Until the first release a
/// migration may be edited in place; after it, only new migrations are appended.
public enum Migrations {
    public static let all: [Migration] = [
        eventsAndTokens,
        // Migration 2 (workflow engine): entities and the webhook outbox, defined in EntitySchema.swift.
        EntitySchema.migration,
        // Migration 3: partial indexes without audit events, defined in AuditIndexSchema.swift.
        AuditIndexSchema.migration,
    ]

    /// Migration 1: events, bearer tokens and idempotency keys.
    static let eventsAndTokens = Migration(version: 1, name: "events, tokens and idempotency keys", statements: [
        // Event ids are UUIDv7 stored as their 16 bytes: byte order equals the order of the
        // lowercase text, and each index entry is 20 bytes shorter than with the text.
        """
        CREATE TABLE events (
            id BLOB NOT NULL UNIQUE,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            account_id TEXT NOT NULL,
            retailer_id TEXT NOT NULL,
            category TEXT,
            source_events TEXT NOT NULL,
            entity_type TEXT,
            entity_id TEXT,
            entity_ref TEXT,
            entity_subtype TEXT,
            root_entity_type TEXT,
            root_entity_id TEXT,
            root_entity_ref TEXT,
            event_status TEXT NOT NULL,
            attributes TEXT NOT NULL,
            source TEXT,
            generated_by TEXT NOT NULL,
            generated_on INTEGER NOT NULL,
            scheduled_on INTEGER,
            -- Hops from the externally posted event: the workflow engine fails an event that
            -- would send past its max chain depth, so loops across roots and schedules stop.
            chain_depth INTEGER NOT NULL DEFAULT 0
        ) STRICT
        """,

        // Every list filter has an index whose key ends with (generated_on, id), so a filtered
        // list walks one index backwards in the response order and stops after one page.
        // Columns that are often NULL get partial indexes, which the planner uses for `column = ?`.
        "CREATE INDEX events_by_time ON events (generated_on, id)",
        "CREATE INDEX events_by_root_entity_ref ON events (root_entity_ref, generated_on, id) WHERE root_entity_ref IS NOT NULL",
        "CREATE INDEX events_by_root_entity_id ON events (root_entity_id, generated_on, id) WHERE root_entity_id IS NOT NULL",
        "CREATE INDEX events_by_root_entity_type ON events (root_entity_type, generated_on, id) WHERE root_entity_type IS NOT NULL",
        "CREATE INDEX events_by_entity_ref ON events (entity_ref, generated_on, id) WHERE entity_ref IS NOT NULL",
        "CREATE INDEX events_by_entity_id ON events (entity_id, generated_on, id) WHERE entity_id IS NOT NULL",
        "CREATE INDEX events_by_entity_type ON events (entity_type, generated_on, id) WHERE entity_type IS NOT NULL",
        "CREATE INDEX events_by_name ON events (name, generated_on, id)",
        "CREATE INDEX events_by_category ON events (category, generated_on, id) WHERE category IS NOT NULL",
        "CREATE INDEX events_by_retailer ON events (retailer_id, generated_on, id)",
        "CREATE INDEX events_by_type ON events (type, generated_on, id)",
        "CREATE INDEX events_by_status ON events (event_status, generated_on, id)",

        // Bearer tokens: only the SHA-256 of the token is stored, so a copy of the database
        // cannot be used to call the API.
        """
        CREATE TABLE tokens (
            token_hash BLOB PRIMARY KEY,
            username TEXT NOT NULL,
            client_id TEXT NOT NULL,
            issued_on INTEGER NOT NULL,
            expires_on INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID
        """,
        "CREATE INDEX tokens_by_expiry ON tokens (expires_on)",

        // Idempotency keys are scoped to the user that sent them. The stored response is
        // replayed for a retry with the same body (compared by SHA-256).
        """
        CREATE TABLE idempotency_keys (
            username TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            request_hash BLOB NOT NULL,
            response_status INTEGER NOT NULL,
            response_body BLOB NOT NULL,
            created_on INTEGER NOT NULL,
            PRIMARY KEY (username, idempotency_key)
        ) STRICT, WITHOUT ROWID
        """,
        "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_on)",
    ])

    /// Applies the migrations newer than the database's `user_version`, each in its own
    /// `BEGIN IMMEDIATE` transaction that also sets the new version.
    /// - Throws: `MigrationError.newerSchema` when the database was written by a newer server.
    public static func apply(_ migrations: [Migration] = all, to connection: SQLiteConnection) throws {
        let current = Int(try connection.scalarInteger("PRAGMA user_version") ?? 0)
        let latest = migrations.last?.version ?? 0
        guard current <= latest else {
            throw MigrationError.newerSchema(found: current, supported: latest)
        }

        for (offset, migration) in migrations.enumerated() where migration.version > current {
            guard migration.version == offset + 1 else {
                throw MigrationError.outOfOrder(name: migration.name, version: migration.version, expected: offset + 1)
            }
            try connection.execute("BEGIN IMMEDIATE")
            do {
                for statement in migration.statements {
                    try connection.execute(statement)
                }
                try connection.execute("PRAGMA user_version = \(migration.version)")
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw MigrationError.failed(name: migration.name, version: migration.version, underlying: error)
            }
        }
    }
}

/// A schema migration that could not be applied.
public enum MigrationError: Error, CustomStringConvertible {
    case newerSchema(found: Int, supported: Int)
    case outOfOrder(name: String, version: Int, expected: Int)
    case failed(name: String, version: Int, underlying: any Error)

    public var description: String {
        switch self {
        case .newerSchema(let found, let supported):
            return "the database schema version is \(found) but this server supports at most \(supported): upgrade the server or restore a backup made by this version"
        case .outOfOrder(let name, let version, let expected):
            return "migration \"\(name)\" has version \(version), expected \(expected): versions must start at 1 with no gaps"
        case .failed(let name, let version, let underlying):
            return "migration \(version) (\(name)) failed and was rolled back: \(underlying)"
        }
    }
}
