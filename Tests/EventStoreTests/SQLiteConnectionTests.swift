import EventStore
import Foundation
import Testing

/// `SQLiteConnection.run` binds text and blobs in place, and the statement cache hashes only
/// part of the SQL text: these tests pin what either could get wrong.
@Suite struct SQLiteConnectionTests {
    private func open(_ directory: TemporaryDirectory) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: directory.databasePath)
        try connection.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, s TEXT, b BLOB, r REAL) STRICT")
        return connection
    }

    private func row(_ connection: SQLiteConnection, _ key: Int64) throws -> (text: String?, isNull: Bool, blob: [UInt8], real: Double) {
        var found: (String?, Bool, [UInt8], Double)?
        try connection.query("SELECT s, s IS NULL, b, r FROM t WHERE k = ?", [.integer(key)]) { statement in
            found = (statement.optionalText(0), statement.integer(1) == 1, statement.bytes(2), statement.double(3))
        }
        return try #require(found)
    }

    /// Every kind of value reaches the row, and empty text and blobs stay empty rather than NULL.
    @Test func runBindsEveryKindInPlace() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let connection = try open(directory)
        let long = String(repeating: "é✓", count: 5_000)

        try connection.run("INSERT INTO t (k, s, b, r) VALUES (?, ?, ?, ?)", [.integer(1), .text(""), .blob([]), .double(1.5)])
        try connection.run("INSERT INTO t (k, s, b, r) VALUES (?, ?, ?, ?)", [.integer(2), .text(long), .blob([0, 1, 255]), .double(-2)])
        try connection.run("INSERT INTO t (k, s, b, r) VALUES (?, ?, ?, ?)", [.integer(3), .null, .blob([7]), .double(0)])

        let empty = try row(connection, 1)
        #expect(empty.text == "")
        #expect(!empty.isNull)
        #expect(empty.blob.isEmpty)
        #expect(empty.real == 1.5)
        let full = try row(connection, 2)
        #expect(full.text == long)
        #expect(full.blob == [0, 1, 255])
        #expect(full.real == -2)
        let null = try row(connection, 3)
        #expect(null.isNull)
        #expect(null.text == nil)
        let emptyBlobIsNotNull = try connection.scalarInteger("SELECT count(*) FROM t WHERE b IS NOT NULL AND k = 1")
        #expect(emptyBlobIsNotNull == 1)
    }

    /// Text built for one call (not kept by the caller) is read before the call returns, and
    /// a later run of the same statement does not see the earlier values.
    @Test func temporaryTextIsStoredBeforeRunReturns() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let connection = try open(directory)

        for key in 1...200 {
            try connection.run("INSERT INTO t (k, s) VALUES (?, ?)", [.integer(Int64(key)), .text("value-\(key)-" + String(repeating: "x", count: key))])
        }

        for key in [1, 57, 200] {
            #expect(try row(connection, Int64(key)).text == "value-\(key)-" + String(repeating: "x", count: key))
        }
        #expect(try connection.scalarInteger("SELECT count(*) FROM t WHERE b IS NOT NULL") == 0)
    }

    /// A failed step throws SQLite's message, and the statement runs again afterwards.
    @Test func failedRunThrowsItsMessageAndStatementRecovers() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let connection = try open(directory)
        try connection.run("INSERT INTO t (k, s) VALUES (?, ?)", [.integer(1), .text("first")])

        let failure = try #require(throws: SQLiteError.self) {
            try connection.run("INSERT INTO t (k, s) VALUES (?, ?)", [.integer(1), .text("again")])
        }
        #expect(failure.isConstraint)
        #expect(failure.message.contains("UNIQUE constraint failed: t.k"))

        try connection.run("INSERT INTO t (k, s) VALUES (?, ?)", [.integer(2), .text("second")])
        #expect(try row(connection, 2).text == "second")
        #expect(try row(connection, 1).text == "first")
    }

    /// A value of the wrong type for a STRICT column, and a parameter index past the
    /// statement's, fail with their own message and leave nothing behind.
    @Test func badBindingsFailCleanly() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let connection = try open(directory)

        let wrongType = try #require(throws: SQLiteError.self) {
            try connection.run("INSERT INTO t (k, r) VALUES (?, ?)", [.integer(1), .text("not a number")])
        }
        #expect(wrongType.message.contains("cannot store TEXT value in REAL column t.r"))

        let tooMany = try #require(throws: SQLiteError.self) {
            try connection.run("INSERT INTO t (k) VALUES (?)", [.integer(2), .text("extra")])
        }
        #expect(tooMany.code == 25, "SQLITE_RANGE")

        #expect(try connection.scalarInteger("SELECT count(*) FROM t") == 0)
        try connection.run("INSERT INTO t (k) VALUES (?)", [.integer(3)])
        #expect(try connection.scalarInteger("SELECT count(*) FROM t") == 1)
    }

    /// Two statements whose texts have the same length and the same first and last 32 bytes
    /// hash alike in the cache, and still run as themselves.
    @Test func statementsThatHashAlikeStayApart() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let connection = try open(directory)
        try connection.run("INSERT INTO t (k, s) VALUES (1, 'one'), (2, 'two')")

        let prefix = "SELECT s FROM t WHERE k = ? AND 1 = 1 AND 2 = 2 AND "
        let suffix = " AND 3 = 3 AND 4 = 4 AND 5 = 5 AND 6 = 6"
        let first = prefix + "'a' = 'a'" + suffix
        let second = prefix + "'b' = 'c'" + suffix
        #expect(first.utf8.count == second.utf8.count)

        for _ in 0..<3 {
            var seen: [String] = []
            try connection.query(first, [.integer(1)]) { seen.append($0.text(0)) }
            try connection.query(second, [.integer(1)]) { seen.append($0.text(0)) }
            #expect(seen == ["one"], "the second statement's condition is false, so only the first returns a row")
        }
    }

    /// SQLite reads bytes: two texts that Swift's `String` calls equal ("\u{E9}" and
    /// "e\u{301}") are two statements, and each returns its own bytes.
    @Test func canonicallyEqualTextsStayTwoStatements() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let connection = try open(directory)
        let precomposed = "SELECT '\u{E9}' AS v"
        let decomposed = "SELECT 'e\u{301}' AS v"
        #expect(precomposed == decomposed, "Swift compares them as equal")

        for _ in 0..<3 {
            for sql in [precomposed, decomposed, precomposed] {
                var returned: [UInt8] = []
                try connection.query(sql) { returned = $0.bytes(0) }
                #expect(returned == Array(sql.utf8.dropFirst(8).dropLast(6)), "\(sql)")
            }
        }
    }

    /// Values past the in-place limit are copied, so a statement with thousands of them runs
    /// on a thread with a small stack (1 MiB, as the HTTP worker threads have).
    @Test func manyValuesRunOnASmallStack() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let connection = try open(directory)
        let count = 5_000
        let sql = "INSERT INTO t (s) VALUES " + Array(repeating: "(?)", count: count).joined(separator: ", ")
        let values = (0..<count).map { SQLiteValue.text("row \($0)") }

        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        let thread = Thread {
            do { try connection.run(sql, values) } catch { failure = error }
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
        done.wait()

        #expect(failure == nil)
        #expect(try connection.scalarInteger("SELECT count(*) FROM t") == Int64(count))
        #expect(try connection.scalarInteger("SELECT count(*) FROM t WHERE s = 'row 4999'") == 1)
    }
}
