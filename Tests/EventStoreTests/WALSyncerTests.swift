@testable import EventStore
import Foundation
import Glibc
import Synchronization
import Telemetry
import Testing

@Suite struct WALSyncerTests {
    @Test func groupsFinishInOrderAfterSync() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/file-wal"
        #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))

        let syncer = try WALSyncer(walPath: path, logger: Logger(label: "test"))
        let finished = Mutex<[Int]>([])
        let errors = Mutex<[String]>([])
        for group in 0..<50 {
            syncer.afterSync { error in
                finished.withLock { $0.append(group) }
                if let error { errors.withLock { $0.append("\(error)") } }
            }
        }
        // Closing flushes and finishes every group handed over before it.
        syncer.close()

        #expect(finished.withLock { $0 } == Array(0..<50))
        #expect(errors.withLock { $0 }.isEmpty)
    }

    @Test func failedSyncReachesEveryGroup() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // fdatasync(2) fails with EINVAL on a FIFO, as it would on a file whose disk failed.
        let path = directory.path + "/fifo-wal"
        #expect(mkfifo(path, 0o600) == 0)

        let syncer = try WALSyncer(walPath: path, logger: Logger(label: "test"))
        let errors = Mutex<[String]>([])
        for _ in 0..<3 {
            syncer.afterSync { error in
                errors.withLock { $0.append(error.map { "\($0)" } ?? "none") }
            }
        }
        syncer.close()

        let reported = errors.withLock { $0 }
        #expect(reported.count == 3)
        #expect(reported.allSatisfy { $0.contains("fdatasync of \(path) failed") })
    }

    @Test func missingWALFileThrows() {
        #expect(throws: WALSyncer.SyncFailed.self) {
            _ = try WALSyncer(walPath: "/nonexistent-directory/events.sqlite-wal", logger: Logger(label: "test"))
        }
    }

    /// Returns a syncer of a one-byte file in `directory`.
    static func makeSyncer(in directory: TemporaryDirectory) throws -> WALSyncer {
        let path = directory.path + "/file-wal"
        #expect(FileManager.default.createFile(atPath: path, contents: Data([1])))
        return try WALSyncer(walPath: path, logger: Logger(label: "test"))
    }

    @Test func waitReturnsAtOnceWhenIdle() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let syncer = try Self.makeSyncer(in: directory)
        defer { syncer.close() }

        let started = Date()
        syncer.waitWhileSyncing(microseconds: 5_000_000)
        #expect(Date().timeIntervalSince(started) < 1)
    }

    /// While a group's completions run, the sync counts as in flight: a wait ends with it, or
    /// at its bound.
    @Test func waitEndsWithTheSyncOrAtItsBound() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let syncer = try Self.makeSyncer(in: directory)
        defer { syncer.close() }
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        syncer.afterSync { _ in
            entered.signal()
            release.wait()
        }
        entered.wait()

        var started = Date()
        syncer.waitWhileSyncing(microseconds: 200_000)
        let bounded = Date().timeIntervalSince(started)
        #expect(bounded >= 0.19)
        #expect(bounded < 3)

        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { release.signal() }
        started = Date()
        syncer.waitWhileSyncing(microseconds: 10_000_000)
        let ended = Date().timeIntervalSince(started)
        #expect(ended >= 0.25)
        #expect(ended < 5)
    }
}
