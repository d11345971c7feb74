import CSQLite
import Foundation
import Synchronization
import Telemetry

/// The event database: one SQLite file in WAL mode, one writer and a pool of readers.
///
/// Writes go through `writer` (group commit; a write's completion runs only once the WAL is
/// fsynced, see `WALSyncer`). Reads run on read-only
/// connections, one per concurrent reader, so in WAL mode a read never blocks the writer and a
/// write never blocks readers (https://sqlite.org/wal.html#concurrency).
public final class EventStore: Sendable {
    /// Tuning of the store.
    public struct Configuration: Sendable {
        public var writer = DatabaseWriter.Configuration()
        /// WAL size in pages at which the background checkpointer runs a PASSIVE checkpoint.
        public var walAutocheckpointPages = 1000
        /// Size the WAL file is truncated to after a checkpoint resets it, in bytes.
        public var journalSizeLimitBytes = 64 * 1024 * 1024
        /// Page cache of the write connection, in KiB. SQLite allocates it as pages are read, up
        /// to this size. Audits insert into the entity and root indexes at random keys, so a
        /// cache smaller than those indexes makes the writer read their pages back often.
        public var writerCacheSizeKiB = 64 * 1024
        /// Page size of a new database, in bytes (a power of two from 512 to 65536). An existing
        /// database keeps the page size it was created with. With 8 KiB rather than SQLite's
        /// default of 4 KiB, the engine benchmark (`bench/engine.sh`) ran about a tenth faster.
        /// 16 KiB was no faster than 8 KiB.
        public var pageSizeBytes = 8192
        /// Page cache of each read-only connection, in KiB.
        public var readerCacheSizeKiB = 2 * 1024
        /// Read-only connections kept open for reuse; more are opened when more threads read at once.
        public var maximumIdleReaders = 16
        /// When true, the WAL is fsynced on a thread of its own (`WALSyncer`) while the writer
        /// runs the next group; when false, each COMMIT waits for its own fsync
        /// (`synchronous=FULL`). Completions run only after the fsync either way.
        public var syncsWALOnItsOwnThread = true

        public init() {}
    }

    /// How long a connection waits for a lock held by another connection, in milliseconds.
    static let busyTimeoutMilliseconds: Int32 = 5000

    public let path: String
    public let writer: DatabaseWriter
    private let configuration: Configuration
    private let checkpointer: Checkpointer
    /// PASSIVE checkpoints run by the background checkpointer of this store.
    var backgroundCheckpoints: Int { checkpointer.checkpointsRun }
    private let writerConnection: SQLiteConnection
    private let idleReaders = Mutex<[SQLiteConnection]>([])
    private let isClosed = Atomic<Bool>(false)

    /// Opens or creates the database at `path`, applies pending migrations and starts the writer.
    /// - Throws: `SQLiteError` when the file cannot be opened, `MigrationError` when the schema
    ///   cannot be brought up to date.
    public init(path: String, configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "store")) throws {
        self.path = path
        self.configuration = configuration

        let connection = try SQLiteConnection(path: path)
        connection.setBusyTimeout(milliseconds: EventStore.busyTimeoutMilliseconds)
        // Takes effect only before the first table exists (https://sqlite.org/pragma.html#pragma_page_size).
        try connection.execute("PRAGMA page_size = \(configuration.pageSizeBytes)")
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = FULL")
        try connection.execute("PRAGMA foreign_keys = ON")
        try connection.execute("PRAGMA journal_size_limit = \(configuration.journalSizeLimitBytes)")
        try connection.execute("PRAGMA cache_size = -\(configuration.writerCacheSizeKiB)")
        // Each work item of a group runs in its own SAVEPOINT, so SQLite copies every page the
        // item changes into a statement journal first. With temp_store=MEMORY that journal stays
        // in memory instead of a temporary file (https://sqlite.org/tempfiles.html#stmtjrnl):
        // before this, the journal took more write(2) calls than the WAL itself.
        try connection.execute("PRAGMA temp_store = MEMORY")
        try Migrations.apply(to: connection)

        // The migrations ran with synchronous=FULL, so the WAL file exists and is on disk.
        var syncer: WALSyncer?
        if configuration.syncsWALOnItsOwnThread {
            syncer = try WALSyncer(walPath: path + "-wal", logger: logger)
            try connection.execute("PRAGMA synchronous = NORMAL")
        }

        // The checkpointer's hook replaces SQLite's automatic checkpoint on this connection.
        checkpointer = try Checkpointer(path: path, thresholdPages: configuration.walAutocheckpointPages, logger: logger)
        checkpointer.attach(to: connection)
        writerConnection = connection
        writer = DatabaseWriter(connection: connection, syncer: syncer, configuration: configuration.writer, logger: logger)
        let writer = self.writer
        MetricsRegistry.shared.gauge("db_writer_idle_seconds", help: "Seconds the writer thread has waited for work since the start: the rest is its busy time") {
            Double(writer.idleNanosecondsTotal) / 1e9
        }
        logger.info("database opened", [("path", path), ("schemaVersion", String(Migrations.all.count))])
    }

    deinit {
        close()
    }

    /// Runs `body` with a read-only connection inside one read transaction, so every statement
    /// in it reads the same snapshot. Call it from worker threads, never from an event-loop thread.
    public func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let connection = try checkOutReader()
        defer { checkIn(connection) }

        try connection.run("BEGIN")
        do {
            let value = try body(connection)
            try connection.run("COMMIT")
            return value
        } catch {
            try? connection.run("ROLLBACK")
            throw error
        }
    }

    /// Finishes the queued writes, checkpoints the WAL and closes every connection.
    public func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writer.close()
        checkpointer.detach(from: writerConnection)
        checkpointer.stop()
        idleReaders.withLock { $0.removeAll() }
    }

    private func checkOutReader() throws -> SQLiteConnection {
        if let connection = idleReaders.withLock({ $0.popLast() }) {
            return connection
        }
        let connection = try SQLiteConnection(path: path, readOnly: true)
        connection.setBusyTimeout(milliseconds: EventStore.busyTimeoutMilliseconds)
        try connection.execute("PRAGMA cache_size = -\(configuration.readerCacheSizeKiB)")
        return connection
    }

    private func checkIn(_ connection: SQLiteConnection) {
        guard !isClosed.load(ordering: .acquiring) else { return }
        idleReaders.withLock { readers in
            if readers.count < configuration.maximumIdleReaders { readers.append(connection) }
        }
    }
}
