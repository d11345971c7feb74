import CSQLite
import EventStore
import Testing

@Suite struct SQLiteLibraryConfigurationTests {
    /// With memory statistics on, SQLite counts every allocation under one process-wide mutex
    /// and `sqlite3_memory_used()` is above 0 as soon as a connection is open.
    @Test func memoryStatisticsAreOff() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        try store.writer.perform { connection in
            try EventRecords.insert(makeEvent(), on: connection)
        }
        let events = try store.read { try $0.scalarInteger("SELECT count(*) FROM events") }

        #expect(events == 1)
        #expect(sqlite3_memory_used() == 0)
    }
}
