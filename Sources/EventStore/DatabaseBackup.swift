import CSQLite
import Foundation
import Glibc

/// Online backup of the event database with SQLite's backup API
/// (https://sqlite.org/backup.html and https://sqlite.org/c3ref/backup_finish.html).
///
/// The copy runs in one `sqlite3_backup_step(-1)` call, so it reads one consistent snapshot
/// inside one read transaction. In WAL mode readers do not block the writer
/// (https://sqlite.org/wal.html), and unlike copying in small steps, the copy does not restart
/// each time the writer commits.
public enum DatabaseBackup {
    /// The result of a backup: pages, bytes and schema version of the copy.
    public struct Summary: Sendable, Equatable {
        /// Database pages copied.
        public var pageCount: Int
        /// Size of the backup file in bytes.
        public var byteCount: Int64
        /// `PRAGMA user_version` of the copy: the schema migration it is at.
        public var schemaVersion: Int64
    }

    /// Errors that are not SQLite's own.
    public struct BackupError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Copies the database at `sourcePath` to `destinationPath` while other connections may
    /// write to it.
    ///
    /// The copy is written to a temporary file beside the destination, switched from WAL to a
    /// rollback journal so it is one self-contained file, checked with `PRAGMA quick_check`,
    /// synced to disk, then renamed over the destination. A failed backup leaves no file behind.
    /// - Parameters:
    ///   - overwrite: replace an existing destination file; without it an existing file is an error.
    ///   - busyTimeoutMilliseconds: how long to wait when the source is locked (it is only while
    ///     another process runs a checkpoint in TRUNCATE or RESTART mode, or a non-WAL writer).
    public static func copy(databaseAt sourcePath: String, to destinationPath: String, overwrite: Bool = false,
                            busyTimeoutMilliseconds: Int32 = 10_000) throws -> Summary {
        guard FileManager.default.fileExists(atPath: sourcePath) else {
            throw BackupError(description: "database \(sourcePath) does not exist; check the data directory")
        }
        if !overwrite && FileManager.default.fileExists(atPath: destinationPath) {
            throw BackupError(description: "backup file \(destinationPath) already exists; choose another path or allow overwriting")
        }

        // Read-write without create: a read-only connection cannot open a WAL database whose
        // -shm file it may not write, and the backup itself never writes to the source.
        let source = try SQLiteConnection(path: sourcePath, readOnly: false, create: false)
        source.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)

        let temporaryPath = destinationPath + ".partial-\(getpid())"
        unlink(temporaryPath)
        do {
            let summary = try copy(from: source, toNewFileAt: temporaryPath)
            try syncFile(at: temporaryPath)
            guard rename(temporaryPath, destinationPath) == 0 else {
                throw BackupError(description: "cannot rename \(temporaryPath) to \(destinationPath): \(String(cString: strerror(errno)))")
            }
            try syncFile(at: directory(of: destinationPath))
            return summary
        } catch {
            unlink(temporaryPath)
            unlink(temporaryPath + "-journal")
            throw error
        }
    }

    /// Copies every page of `source` into a new database at `path` and closes it.
    private static func copy(from source: SQLiteConnection, toNewFileAt path: String) throws -> Summary {
        let destination = try SQLiteConnection(path: path, readOnly: false, create: true)

        guard let backup = sqlite3_backup_init(destination.handle, "main", source.handle, "main") else {
            throw destination.error(sqlite3_errcode(destination.handle), sql: nil)
        }
        var result: Int32
        repeat {
            result = sqlite3_backup_step(backup, -1)
            // BUSY and LOCKED are transient: the source's busy timeout already waited, so one
            // more try after a short pause is all that helps.
            if result == SQLITE_BUSY || result == SQLITE_LOCKED { usleep(10_000) }
        } while result == SQLITE_OK || result == SQLITE_BUSY || result == SQLITE_LOCKED
        let pageCount = Int(sqlite3_backup_pagecount(backup))
        sqlite3_backup_finish(backup)
        guard result == SQLITE_DONE else {
            throw SQLiteError(code: result & 0xFF, extendedCode: result,
                              message: "backup failed: \(String(cString: sqlite3_errstr(result)))", sql: nil)
        }

        try destination.execute("PRAGMA journal_mode=DELETE")
        var check = ""
        try destination.query("PRAGMA quick_check") { row in
            if check.isEmpty { check = row.text(0) }
        }
        guard check == "ok" else {
            throw BackupError(description: "the copy failed PRAGMA quick_check: \(check)")
        }
        let schemaVersion = try destination.scalarInteger("PRAGMA user_version") ?? 0

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let byteCount = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        return Summary(pageCount: pageCount, byteCount: byteCount, schemaVersion: schemaVersion)
    }

    private static func syncFile(at path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw BackupError(description: "cannot open \(path) to sync it: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw BackupError(description: "fsync of \(path) failed: \(String(cString: strerror(errno)))")
        }
    }

    private static func directory(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }
}
