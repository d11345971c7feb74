import Foundation
import Glibc
import Synchronization
import Telemetry

/// The WAL file's fsync, on a thread of its own, so the writer starts its next group while the
/// previous one reaches the disk.
///
/// The write connection runs with `synchronous=NORMAL`, so `COMMIT` appends the group's frames
/// to the WAL without waiting for the disk. The writer then hands the group's completions here.
/// This thread calls `fdatasync(2)` on its own descriptor of the WAL file, which flushes every
/// frame written before the call (the page cache belongs to the file, not to a descriptor), and
/// only then runs the completions, in commit order. So no completion runs before its group is
/// on disk: the guarantee of `synchronous=FULL` (https://sqlite.org/pragma.html#pragma_synchronous).
/// A crash before the fsync can lose only groups that no completion acknowledged; WAL recovery
/// stops at the first frame whose checksum fails, so what survives is a prefix of the commits
/// (https://sqlite.org/fileformat.html#the_write_ahead_log).
final class WALSyncer: @unchecked Sendable {
    /// The WAL could not be flushed; what the groups wrote may not survive a crash.
    struct SyncFailed: Error, CustomStringConvertible {
        let path: String
        let errorNumber: Int32
        var description: String {
            "fdatasync of \(path) failed: \(String(cString: strerror(errorNumber))). The last writes may not be on disk: check the disk and the kernel log"
        }
    }

    private let descriptor: Int32
    private let path: String
    private let logger: Logger
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [@Sendable ((any Error)?) -> Void] = []
    private var isClosing = false
    /// True from taking a batch of groups until their completions ran.
    private var isSyncing = false
    private let stopped = DispatchSemaphore(value: 0)
    /// The pthread of the syncer's thread, where completions run.
    let thread = Atomic<UInt>(0)

    private let syncs = MetricsRegistry.shared.counter(
        "db_wal_syncs_total", help: "fdatasync calls on the WAL, each covering every group committed before it")

    /// Opens `walPath` (the `-wal` file of a database in WAL mode, which must exist) and starts the thread.
    /// - Throws: `SyncFailed` when the file cannot be opened.
    init(walPath: String, logger: Logger) throws {
        let descriptor = open(walPath, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SyncFailed(path: walPath, errorNumber: errno)
        }
        self.descriptor = descriptor
        self.path = walPath
        self.logger = logger

        // SQLite fsyncs the directory after its first sync of a new WAL file, so the file's
        // name survives a crash. With synchronous=NORMAL that sync may never come, so the
        // directory is flushed here, once: the connection keeps the file until it closes.
        let directory = (walPath as NSString).deletingLastPathComponent
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0, fsync(directoryDescriptor) == 0 || errno == EINVAL else {
            let error = SyncFailed(path: directory, errorNumber: errno)
            if directoryDescriptor >= 0 { Glibc.close(directoryDescriptor) }
            Glibc.close(descriptor)
            throw error
        }
        Glibc.close(directoryDescriptor)

        let thread = Thread { [self] in
            self.thread.store(UInt(pthread_self()), ordering: .releasing)
            run()
            stopped.signal()
        }
        thread.name = "db-wal-sync"
        thread.start()
    }

    /// Runs `finish` after the next fsync of the WAL, with nil, or with `SyncFailed`.
    /// `finish` must not block.
    func afterSync(_ finish: @escaping @Sendable ((any Error)?) -> Void) {
        condition.lock()
        pending.append(finish)
        condition.broadcast()
        condition.unlock()
    }

    /// Returns once no fsync is in flight, or after `microseconds` at most.
    func waitWhileSyncing(microseconds: Int) {
        let deadline = Date(timeIntervalSinceNow: Double(microseconds) / 1_000_000)
        condition.lock()
        while isSyncing && condition.wait(until: deadline) {}
        condition.unlock()
    }

    /// Flushes and finishes every group handed over so far, then stops the thread and closes the file.
    func close() {
        condition.lock()
        isClosing = true
        condition.broadcast()
        condition.unlock()
        stopped.wait()
        Glibc.close(descriptor)
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !isClosing {
                condition.wait()
            }
            let groups = pending
            pending = []
            let done = isClosing && groups.isEmpty
            isSyncing = !done
            condition.unlock()
            if done { return }

            var failure: (any Error)?
            // NOTE: the groups are committed already, so after a failed fsync their rows stay
            // visible to readers although their writers hear of a failure.
            if fdatasync(descriptor) != 0 {
                let error = SyncFailed(path: path, errorNumber: errno)
                logger.error("WAL fsync failed, so every group waiting for it is reported as failed", [
                    ("error", error.description), ("groups", String(groups.count)),
                ])
                failure = error
            }
            syncs.increment()
            for finish in groups {
                finish(failure)
            }
            condition.lock()
            isSyncing = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
