import EventStore
import Foundation
import Synchronization
import Testing

@Suite struct DatabaseBackupTests {
    @Test func backupCopiesEveryCommittedEvent() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }
        let events = (0..<300).map { makeEvent(entityRef: "HD-\($0)") }
        try store.writer.perform { connection in
            for event in events { try EventRecords.insert(event, on: connection) }
        }

        let backupPath = directory.path + "/backup.sqlite"
        let summary = try DatabaseBackup.copy(databaseAt: directory.databasePath, to: backupPath)

        #expect(summary.pageCount > 0)
        #expect(summary.byteCount > 0)
        #expect(summary.schemaVersion == (try store.read { try $0.scalarInteger("PRAGMA user_version") }))
        let copy = try SQLiteConnection(path: backupPath, readOnly: true, create: false)
        #expect(try copy.scalarInteger("SELECT count(*) FROM events") == 300)
        for event in [events[0], events[150], events[299]] {
            #expect(try EventRecords.fetch(id: event.id, on: copy) == event)
        }
    }

    @Test func backupIsOneFileInRollbackMode() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }
        try store.writer.perform { try EventRecords.insert(makeEvent(), on: $0) }

        let backupPath = directory.path + "/backup.sqlite"
        _ = try DatabaseBackup.copy(databaseAt: directory.databasePath, to: backupPath)

        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!names.contains("backup.sqlite-wal"))
        #expect(!names.contains { $0.contains(".partial-") })
        let copy = try SQLiteConnection(path: backupPath, readOnly: true, create: false)
        var mode = ""
        try copy.query("PRAGMA journal_mode") { mode = $0.text(0) }
        #expect(mode == "delete")
    }

    @Test func backupWhileWriterCommits() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }
        try store.writer.perform { connection in
            for index in 0..<200 { try EventRecords.insert(makeEvent(entityRef: "BASE-\(index)"), on: connection) }
        }

        // A second thread keeps committing while the backup runs: the copy must be one
        // consistent snapshot that contains at least the rows committed before it started.
        let keepWriting = Atomic<Bool>(true)
        let written = Atomic<Int>(0)
        let writerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var index = 0
            while keepWriting.load(ordering: .relaxed) && index < 5000 {
                let event = makeEvent(entityRef: "LIVE-\(index)")
                try? store.writer.perform { try EventRecords.insert(event, on: $0) }
                written.add(1, ordering: .relaxed)
                index += 1
            }
            writerDone.signal()
        }
        while written.load(ordering: .relaxed) < 20 { usleep(1000) }

        let backupPath = directory.path + "/backup.sqlite"
        _ = try DatabaseBackup.copy(databaseAt: directory.databasePath, to: backupPath)
        keepWriting.store(false, ordering: .relaxed)
        writerDone.wait()

        let copy = try SQLiteConnection(path: backupPath, readOnly: true, create: false)
        let copied = try copy.scalarInteger("SELECT count(*) FROM events") ?? 0
        #expect(copied >= 220)
        #expect(copied <= Int64(200 + written.load(ordering: .relaxed)))
        var check = ""
        try copy.query("PRAGMA integrity_check") { check = $0.text(0) }
        #expect(check == "ok")
    }

    @Test func existingDestinationNeedsOverwrite() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }
        let backupPath = directory.path + "/backup.sqlite"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: backupPath))

        #expect(throws: DatabaseBackup.BackupError.self) {
            try DatabaseBackup.copy(databaseAt: directory.databasePath, to: backupPath)
        }
        #expect(FileManager.default.contents(atPath: backupPath) == Data("keep me".utf8))

        _ = try DatabaseBackup.copy(databaseAt: directory.databasePath, to: backupPath, overwrite: true)
        let copy = try SQLiteConnection(path: backupPath, readOnly: true, create: false)
        #expect(try copy.scalarInteger("SELECT count(*) FROM events") == 0)
    }

    @Test func missingDatabaseFailsWithoutFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let backupPath = directory.path + "/backup.sqlite"

        #expect(throws: DatabaseBackup.BackupError.self) {
            try DatabaseBackup.copy(databaseAt: directory.path + "/absent.sqlite", to: backupPath)
        }
        #expect(!FileManager.default.fileExists(atPath: backupPath))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/absent.sqlite"))
    }
}
