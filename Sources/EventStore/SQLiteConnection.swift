import CSQLite
import Foundation

/// An SQLite error: the result code, the extended code, SQLite's message and the statement.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let extendedCode: Int32
    public let message: String
    public let sql: String?

    public var description: String {
        var text = "SQLite error \(code) (extended \(extendedCode)): \(message)"
        if let sql { text += " in \"\(sql)\"" }
        return text
    }

    /// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock.
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }

    /// SQLITE_CONSTRAINT, such as a UNIQUE violation.
    public var isConstraint: Bool { code == SQLITE_CONSTRAINT }
}

// SQLITE_TRANSIENT tells SQLite to copy bound text and blobs before bind returns.
private let transientDestructor = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

// SQLITE_STATIC: SQLite reads the caller's bytes in place, so they must outlive every step.
private let staticDestructor: sqlite3_destructor_type? = nil

/// A pointer for empty text and blobs: SQLite binds NULL for a null pointer, never ''.
/// Written once, when first used, and only read after that.
nonisolated(unsafe) private let emptyBytes: UnsafePointer<UInt8> = {
    let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return UnsafePointer(pointer)
}()

/// The SQLite library's configuration, applied once before the first connection opens: memory
/// statistics off, so allocations take no process-wide mutex. `sqlite3_memory_used()` then reports 0.
private let sqliteLibraryConfigured: Int32 = csqlite_disable_memory_statistics()

/// One SQLite connection, opened in multi-thread mode (SQLITE_OPEN_NOMUTEX): it must be used
/// by one thread at a time, which its owner guarantees. Prepared statements are cached by SQL
/// text and reused (https://sqlite.org/c3ref/prepare.html).
public final class SQLiteConnection: @unchecked Sendable {
    public let path: String
    let handle: OpaquePointer
    private var statementCache: [StatementKey: SQLiteStatement] = [:]

    /// Opens (and with `create`, creates) the database at `path`.
    public init(path: String, readOnly: Bool = false, create: Bool = true) throws(SQLiteError) {
        self.path = path
        _ = sqliteLibraryConfigured
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        flags |= readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        var opened: OpaquePointer?
        let result = sqlite3_open_v2(path, &opened, flags, nil)
        guard let opened else {
            throw SQLiteError(code: result, extendedCode: result, message: "cannot open \(path): out of memory", sql: nil)
        }
        guard result == SQLITE_OK else {
            let error = SQLiteError(code: result, extendedCode: sqlite3_extended_errcode(opened),
                                    message: "cannot open \(path): \(String(cString: sqlite3_errmsg(opened)))", sql: nil)
            sqlite3_close_v2(opened)
            throw error
        }
        handle = opened
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows (PRAGMA, DDL, BEGIN, COMMIT).
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        guard result == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteError(code: result & 0xFF, extendedCode: result, message: text, sql: sql)
        }
    }

    /// Returns the cached prepared statement for `sql`, reset and with its bindings cleared.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = statementCache[StatementKey(sql: sql)] {
            cached.reset()
            return cached
        }
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else {
            throw error(result, sql: sql)
        }
        let prepared = SQLiteStatement(connection: self, handle: statement, sql: sql)
        statementCache[StatementKey(sql: sql)] = prepared
        return prepared
    }

    /// Prepares, binds and runs `sql`, returning nothing. Text and blobs are bound in place,
    /// not copied: the writer binds about twenty values per inserted event.
    public func run(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) {
        let statement = try prepare(sql)
        // Each value bound in place is one level of nesting: past a few dozen, copy them.
        guard values.count <= SQLiteConnection.maximumValuesBoundInPlace else {
            try statement.bind(values)
            defer { statement.reset() }
            while try statement.step() {}
            return
        }
        if let failure = statement.runBorrowing(values) {
            throw failure
        }
    }

    /// The maximum number of values `run` binds in place; a statement with more gets copies,
    /// so its stack stays shallow. The writer's statements bind at most 21.
    static let maximumValuesBoundInPlace = 32

    /// Prepares, binds and runs `sql`, calling `row` for each result row.
    public func query(_ sql: String, _ values: [SQLiteValue] = [], row: (SQLiteStatement) throws -> Void) throws {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(values)
        while try statement.step() {
            try row(statement)
        }
    }

    /// Runs `sql` and returns the first column of the first row as an integer, or nil.
    public func scalarInteger(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(values)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.integer(0)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// True when no transaction is open (https://sqlite.org/c3ref/get_autocommit.html).
    public var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    /// Sets how long a statement waits for a lock held by another connection, in milliseconds.
    public func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    func error(_ result: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: result & 0xFF, extendedCode: sqlite3_extended_errcode(handle),
                    message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

/// A value bound to a statement parameter.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
}

/// A prepared statement owned by its connection's cache.
public final class SQLiteStatement: @unchecked Sendable {
    unowned let connection: SQLiteConnection
    let handle: OpaquePointer
    public let sql: String

    init(connection: SQLiteConnection, handle: OpaquePointer, sql: String) {
        self.connection = connection
        self.handle = handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` to parameters 1...n.
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    public func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let result: Int32
        switch value {
        case .null:
            result = sqlite3_bind_null(handle, index)
        case .integer(let number):
            result = sqlite3_bind_int64(handle, index, number)
        case .double(let number):
            result = sqlite3_bind_double(handle, index, number)
        case .text(let text):
            result = text.utf8.withContiguousStorageIfAvailable { buffer in
                sqlite3_bind_text(handle, index, UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  Int32(buffer.count), transientDestructor)
            } ?? sqlite3_bind_text(handle, index, text, -1, transientDestructor)
        case .blob(let bytes):
            result = bytes.withUnsafeBytes { buffer in
                sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), transientDestructor)
            }
        }
        guard result == SQLITE_OK else { throw connection.error(result, sql: sql) }
    }

    /// Binds `values` to parameters 1...n without copying text and blobs (SQLITE_STATIC,
    /// https://sqlite.org/c3ref/bind_blob.html), steps until the statement is done, then
    /// resets it and clears its bindings while the bound bytes are still alive.
    /// - Returns: the first error of a bind or a step, or nil.
    func runBorrowing(_ values: [SQLiteValue]) -> SQLiteError? {
        values.withUnsafeBufferPointer { bindBorrowing($0, from: 0) }
    }

    /// Binds `values[index...]` one level of nesting each, so that every bound pointer stays
    /// valid until the innermost level has stepped and cleared the bindings.
    private func bindBorrowing(_ values: UnsafeBufferPointer<SQLiteValue>, from index: Int) -> SQLiteError? {
        guard index < values.count else { return stepToEndAndClear() }
        let position = Int32(index + 1)
        let result: Int32
        switch values[index] {
        case .null:
            result = sqlite3_bind_null(handle, position)
        case .integer(let number):
            result = sqlite3_bind_int64(handle, position, number)
        case .double(let number):
            result = sqlite3_bind_double(handle, position, number)
        case .text(var text):
            return text.withUTF8 { buffer in
                let start = UnsafeRawPointer(buffer.baseAddress ?? emptyBytes).assumingMemoryBound(to: CChar.self)
                let bound = sqlite3_bind_text(handle, position, start, Int32(buffer.count), staticDestructor)
                guard bound == SQLITE_OK else { return failBinding(bound) }
                return bindBorrowing(values, from: index + 1)
            }
        case .blob(let bytes):
            return bytes.withUnsafeBufferPointer { buffer in
                let bound = sqlite3_bind_blob(handle, position, buffer.baseAddress ?? emptyBytes, Int32(buffer.count), staticDestructor)
                guard bound == SQLITE_OK else { return failBinding(bound) }
                return bindBorrowing(values, from: index + 1)
            }
        }
        guard result == SQLITE_OK else { return failBinding(result) }
        return bindBorrowing(values, from: index + 1)
    }

    private func failBinding(_ result: Int32) -> SQLiteError {
        let failure = connection.error(result, sql: sql)
        reset()
        return failure
    }

    /// Steps until the statement is done; the error is read before the reset.
    private func stepToEndAndClear() -> SQLiteError? {
        var failure: SQLiteError?
        while true {
            let result = sqlite3_step(handle)
            if result == SQLITE_ROW { continue }
            if result != SQLITE_DONE { failure = connection.error(result, sql: sql) }
            break
        }
        reset()
        return failure
    }

    /// Steps once. Returns true when a row is available, false when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        let result = sqlite3_step(handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(result, sql: sql)
        }
    }

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    public func integer(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    public func double(_ column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    public func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// Calls `body` with the column's bytes as stored, without copying them. The buffer is valid
    /// only inside `body` and empty for NULL.
    public func withBytes<Result>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        // Pointer first, then size, as https://sqlite.org/c3ref/column_blob.html advises.
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer else {
            return body(UnsafeBufferPointer(start: nil, count: 0))
        }
        return body(UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: UInt8.self), count: count))
    }

    public func optionalText(_ column: Int32) -> String? {
        isNull(column) ? nil : text(column)
    }

    public func optionalInteger(_ column: Int32) -> Int64? {
        isNull(column) ? nil : integer(column)
    }

    /// The column's bytes (text or blob), without copying through `String`.
    public func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// The statement cache's key: the SQL text, compared byte for byte, and hashed by its length,
/// its first and last 32 bytes and every eighth byte between them instead of all of it. The hot
/// statements are 150 to 500 bytes long and looked up about twenty times per executed event.
/// Two texts that share those bytes only share a hash bucket. Bytes, not `String` equality:
/// SQLite reads bytes, so "\u{E9}" and "e\u{301}" are different statements, and a hash of bytes
/// must go with an equality of bytes.
struct StatementKey: Hashable {
    let sql: String

    static func == (lhs: StatementKey, rhs: StatementKey) -> Bool {
        lhs.sql.utf8.elementsEqual(rhs.sql.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var sql = sql
        sql.withUTF8 { bytes in
            hasher.combine(bytes.count)
            let edge = min(bytes.count, 32)
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[..<edge])))
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[(bytes.count - edge)...])))
            var sample: UInt64 = 0
            for index in stride(from: edge, to: bytes.count - edge, by: 8) {
                sample = (sample &<< 5 | sample &>> 59) ^ UInt64(bytes[index])
            }
            hasher.combine(sample)
        }
    }
}
