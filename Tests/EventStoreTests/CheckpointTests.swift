@testable import EventStore
import Foundation
import Testing

@Suite struct CheckpointTests {
    static func walSize(_ directory: TemporaryDirectory) -> Int {
        let attributes = try? FileManager.default.attributesOfItem(atPath: directory.databasePath + "-wal")
        return (attributes?[.size] as? Int) ?? 0
    }

    @Test func walIsTruncatedWhenIdle() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = EventStore.Configuration()
        configuration.writer.idleCheckpointDelay = 100
        configuration.walAutocheckpointPages = 100
        // The sizes below are worked out for 4 KiB pages.
        configuration.pageSizeBytes = 4096
        let store = try EventStore(path: directory.databasePath, configuration: configuration)
        defer { store.close() }

        var peak = 0
        for batch in 0..<200 {
            let events = (0..<40).map { makeEvent(entityRef: "W-\(batch)-\($0)") }
            try store.writer.perform { connection in
                for event in events { try EventRecords.insert(event, on: connection) }
            }
            peak = max(peak, Self.walSize(directory))
        }
        // Without checkpoints the WAL would hold every page written, 34 MiB here. With
        // them it stays near 100 pages of 4 KiB, or 8 times that when the checkpointer thread
        // falls behind and the writer checkpoints itself, plus the commits made while a
        // starved checkpoint holds its lock (seen up to 6.5 MiB on a loaded 2-core machine).
        #expect(peak > 0)
        #expect(peak < 16 * 1024 * 1024)

        let deadline = Date().addingTimeInterval(10)
        while Self.walSize(directory) > 0 && Date() < deadline {
            usleep(20_000)
        }
        #expect(Self.walSize(directory) == 0)
        let count = try store.read { try $0.scalarInteger("SELECT count(*) FROM events") }
        #expect(count == 8000)
    }

    @Test func checkpointsFollowWALGrowthWhenItCannotStartAgain() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = EventStore.Configuration()
        configuration.walAutocheckpointPages = 100
        configuration.pageSizeBytes = 4096
        let store = try EventStore(path: directory.databasePath, configuration: configuration)
        defer { store.close() }
        try store.writer.perform { connection in try EventRecords.insert(makeEvent(entityRef: "PIN"), on: connection) }

        // A read transaction left open keeps its snapshot's frames in the WAL, so SQLite cannot
        // start the WAL again from its beginning, as under a steady load of reads and writes.
        let reader = try SQLiteConnection(path: directory.databasePath, readOnly: true, create: false)
        try reader.execute("BEGIN")
        #expect(try reader.scalarInteger("SELECT count(*) FROM events") == 1)

        for batch in 0..<150 {
            let events = (0..<10).map { makeEvent(entityRef: "G-\(batch)-\($0)") }
            try store.writer.perform { connection in
                for event in events { try EventRecords.insert(event, on: connection) }
            }
        }
        let frames = (Self.walSize(directory) - 32) / (4096 + 24)
        try reader.execute("COMMIT")

        // One checkpoint per 100 pages of growth, where a checkpoint after every commit past
        // the first 100 pages made about 140 here.
        #expect(frames > 300)
        #expect(store.backgroundCheckpoints >= 1)
        #expect(store.backgroundCheckpoints <= frames / 100 + 1)
    }

    @Test func reopenKeepsEvents() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let event = makeEvent()
        do {
            let store = try EventStore(path: directory.databasePath)
            try store.writer.perform { try EventRecords.insert(event, on: $0) }
            store.close()
        }

        let reopened = try EventStore(path: directory.databasePath)
        defer { reopened.close() }
        let fetched = try reopened.read { try EventRecords.fetch(id: event.id, on: $0) }
        #expect(fetched == event)
        let version = try reopened.writer.perform { try $0.scalarInteger("PRAGMA user_version") }
        #expect(version == Int64(Migrations.all.count))
    }

    @Test func newerSchemaIsRejected() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let connection = try SQLiteConnection(path: directory.databasePath)
            try connection.execute("PRAGMA user_version = 99")
        }
        #expect(throws: MigrationError.self) {
            _ = try EventStore(path: directory.databasePath)
        }
    }
}
