import CSQLite
import Dispatch
import Foundation
import Synchronization
import Telemetry

/// Copies the WAL back into the database on its own thread and connection, so the writer never
/// spends a commit's time on a checkpoint.
///
/// It replaces SQLite's automatic checkpoint. The writer connection's WAL hook
/// (https://sqlite.org/c3ref/wal_hook.html) reports the WAL size after each commit. Past
/// `thresholdPages`, this thread runs a PASSIVE checkpoint, which copies every frame that no
/// reader still needs without blocking the writer or readers
/// (https://sqlite.org/c3ref/wal_checkpoint_v2.html). After a checkpoint that copied every
/// frame, the next write transaction starts the WAL again from its beginning. When this thread
/// falls behind (a starved CPU) and the WAL reaches `backstopFactor` times the threshold, the
/// writer runs a PASSIVE checkpoint itself after its commit, as SQLite's own would.
final class Checkpointer: Sendable {
    private struct State {
        var requested = false
        var isStopping = false
        /// WAL frames at the last checkpoint requested; 0 once the WAL started again from its beginning.
        var framesAtLastRequest = 0
    }

    /// The WAL size, as a multiple of the threshold, at which the writer checkpoints itself.
    static let backstopFactor = 8

    private let connection: SQLiteConnection
    private let thresholdPages: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let completed = Atomic<Int>(0)
    private let wakeUp = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let checkpoints = MetricsRegistry.shared.counter(
        "db_checkpoints_total", help: "PASSIVE checkpoints run by the background checkpointer")

    init(path: String, thresholdPages: Int, logger: Logger) throws {
        connection = try SQLiteConnection(path: path, create: false)
        // A PASSIVE checkpoint does not invoke the busy handler (sqlite3_wal_checkpoint_v2), so
        // a timeout of 0 changes nothing for it and keeps any other statement from waiting.
        connection.setBusyTimeout(milliseconds: 0)
        self.thresholdPages = thresholdPages
        self.logger = logger

        let thread = Thread { [self] in runLoop() }
        thread.name = "db-checkpointer"
        thread.start()
    }

    /// PASSIVE checkpoints this thread has run since it started.
    var checkpointsRun: Int {
        completed.load(ordering: .relaxed)
    }

    /// Installs the WAL hook on the writer's connection. Call before the writer starts.
    func attach(to writerConnection: SQLiteConnection) {
        let hook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
            context, database, _, pages in
            guard let context else { return SQLITE_OK }
            let checkpointer = Unmanaged<Checkpointer>.fromOpaque(context).takeUnretainedValue()
            checkpointer.walGrew(pages: Int(pages))
            if Int(pages) >= checkpointer.thresholdPages * Checkpointer.backstopFactor {
                // SQLITE_BUSY here means the checkpointer thread is checkpointing right now.
                sqlite3_wal_checkpoint_v2(database, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
            return SQLITE_OK
        }
        // The writer connection must not outlive this object with the hook set: `detach` removes it.
        sqlite3_wal_hook(writerConnection.handle, hook, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Removes the WAL hook. Call once the writer thread has stopped using the connection.
    func detach(from writerConnection: SQLiteConnection) {
        sqlite3_wal_hook(writerConnection.handle, nil, nil)
    }

    /// Called on the writer thread after each commit with the WAL's size in pages.
    ///
    /// A checkpoint is requested each time the WAL has grown by `thresholdPages` since the last
    /// request, not after every commit past the threshold. Under a steady load the WAL seldom
    /// starts again from its beginning: the writer begins its next transaction before the
    /// checkpoint has copied the frames of the last one, and only then may SQLite reset it. So
    /// past the threshold, a checkpoint per commit copied the pages that every commit changes
    /// (the ends of the time-ordered indexes) once per commit, with two more fsyncs each time.
    private func walGrew(pages: Int) {
        guard pages >= thresholdPages else { return }
        let wake = state.withLock { state -> Bool in
            // Fewer frames than at the last request: the WAL started again from its beginning.
            if pages < state.framesAtLastRequest { state.framesAtLastRequest = 0 }
            guard !state.requested, pages - state.framesAtLastRequest >= thresholdPages else { return false }
            state.requested = true
            state.framesAtLastRequest = pages
            return true
        }
        if wake { wakeUp.signal() }
    }

    /// Stops the thread after the checkpoint in progress, if any.
    func stop() {
        state.withLock { $0.isStopping = true }
        wakeUp.signal()
        stopped.wait()
    }

    private func runLoop() {
        while true {
            wakeUp.wait()
            let stopping = state.withLock { state -> Bool in
                state.requested = false
                return state.isStopping
            }
            if stopping { break }
            do {
                try connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                checkpoints.increment()
                completed.add(1, ordering: .relaxed)
            } catch {
                logger.warning("background checkpoint failed", [("error", "\(error)")])
            }
        }
        stopped.signal()
    }
}
