import Dispatch
import Foundation
import Synchronization
import Telemetry

/// Errors of the writer itself, as opposed to errors thrown by submitted work.
public enum DatabaseWriterError: Error, CustomStringConvertible {
    /// The writer was closed before the work could run.
    case closed
    /// `perform` was called on the writer thread or in a completion, where waiting would deadlock.
    case calledOnWriterThread
    /// SQLite rolled back the whole group transaction after an I/O or disk-full error.
    case transactionRolledBack

    public var description: String {
        switch self {
        case .closed: return "the database writer is closed"
        case .calledOnWriterThread: return "DatabaseWriter.perform was called on the writer thread or in a write completion, where it would wait forever: use submit there"
        case .transactionRolledBack: return "SQLite rolled back the write transaction after an I/O or disk-full error"
        }
    }
}

/// The one owner of the write connection, committing queued work in groups.
///
/// One thread takes every queued item, runs them all in one `BEGIN IMMEDIATE` ... `COMMIT`,
/// and calls the completions once the transaction is on disk. With a `WALSyncer`, the commit
/// does not wait for the disk and the syncer's thread runs the completions after its fsync of
/// the WAL, while this thread runs the next group. Without one, the connection must use
/// `synchronous=FULL`, and the completions run when the COMMIT returns
/// (https://sqlite.org/pragma.html#pragma_synchronous). Work submitted while a group commits
/// queues up for the next group, so concurrent writers share one fsync (group commit).
///
/// A throwing item rolls back only its own changes. Items first run without savepoints, since a
/// SAVEPOINT makes SQLite copy every page the item changes into a statement journal
/// (https://sqlite.org/tempfiles.html#stmtjrnl). When one throws, the group is rolled back and
/// run again with each item in its own SAVEPOINT, without the item that threw, whose error is
/// kept. So the work of an item that precedes a failure in its group can run twice, on the
/// same database state: it must change nothing outside the connection, except when it throws.
/// NOTE: a deferred constraint (a DEFERRABLE foreign key) is checked only at COMMIT, so its
/// violation fails every item of the group. The schema has no such constraint today.
///
/// Each item is `.normal` (a request waits for it) or `.background` (the workflow engine's own
/// work). Each kind commits in the order submitted, and a group takes the normal items first:
/// a request waits for the group in progress, not for the engine's backlog ahead of it. While
/// requests wait, a group takes at most `backgroundItemsBesideRequests` background items, so
/// it commits soon. An item that depends on one of the other kind is submitted only after that
/// one's completion, so this order never reverses a dependency. The writer also counts the
/// normal items that wait for their commit, so the engine can tell when requests keep the
/// store busy.
///
/// When the writer has been idle for `idleCheckpointDelay`, it runs a TRUNCATE checkpoint so
/// the WAL file shrinks back. Under load, the store's `Checkpointer` runs PASSIVE ones on its own thread.
public final class DatabaseWriter: Sendable {
    /// Tuning of the writer.
    public struct Configuration: Sendable {
        /// The maximum number of work items committed in one transaction.
        public var maximumGroupSize = 1000
        /// The maximum number of background items in a group that has normal items.
        public var backgroundItemsBesideRequests = 64
        /// Idle time after the last write before the WAL is checkpointed and truncated, in milliseconds.
        public var idleCheckpointDelay = 1000
        /// While the WAL's fsync runs and fewer than this many requests wait, the writer waits
        /// for the fsync to end (up to `maximumGatheringMicroseconds`) before it takes a group.
        /// 0 turns gathering off.
        public var gatherBelowRequests = 16
        /// The maximum time the writer waits for an fsync in flight before it takes a small group, in microseconds.
        public var maximumGatheringMicroseconds = 1000

        public init() {}
    }

    /// Waits for the WAL's fsync in flight when only a few requests wait. A group committed now
    /// would wait for the next fsync anyway, which starts when this one ends. So a group
    /// committed at its end is answered no later, and shares its commit with the requests that
    /// came meanwhile.
    /// Under a POST flood at 64 connections this raised the mean group from 8 to 18 requests
    /// and halved the commits. The wait is bounded, so a stalled fsync delays a group by at most
    /// `maximumGatheringMicroseconds`.
    private func gatherWhileSyncing() {
        guard let syncer, configuration.gatherBelowRequests > 0 else { return }
        let waiting = state.withLock { $0.requests.count }
        guard waiting > 0, waiting < configuration.gatherBelowRequests else { return }
        syncer.waitWhileSyncing(microseconds: configuration.maximumGatheringMicroseconds)
    }

    private final class WorkItem: Sendable {
        /// Runs the work, inside its own savepoint when the flag is set, and returns what to
        /// call after the commit.
        let run: @Sendable (SQLiteConnection, Bool) -> Completion
        /// Reports an error that prevented the work from running or committing.
        let fail: @Sendable (any Error) -> Void

        init(run: @escaping @Sendable (SQLiteConnection, Bool) -> Completion, fail: @escaping @Sendable (any Error) -> Void) {
            self.run = run
            self.fail = fail
        }
    }

    /// The rest of a work item after the commit: reporting its own result, or the group's
    /// error when the whole group failed to commit.
    private struct Completion: Sendable {
        let succeeded: Bool
        let finish: @Sendable ((any Error)?) -> Void
    }

    /// Whether a request waits for an item; see the type's notes.
    public enum Priority: Sendable {
        case normal
        case background
    }

    private enum Admission { case queued, queuedAndWake, rejected }

    private struct State {
        /// Normal items, then background items, each in the order submitted.
        var requests: [WorkItem] = []
        var background: [WorkItem] = []
        var writerIsWaiting = false
        var isClosing = false
    }

    private let connection: SQLiteConnection
    private let syncer: WALSyncer?
    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let writerThread = Atomic<UInt>(0)
    private let normalItemsInFlight = Atomic<Int>(0)
    private let normalItemsCompleted = Atomic<Int>(0)
    private let idleNanoseconds = Atomic<UInt64>(0)

    private let groupSizes = MetricsRegistry.shared.histogram(
        "db_write_group_size", help: "Work items committed together in one transaction",
        upperBounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000])
    private let commitSeconds = MetricsRegistry.shared.histogram(
        "db_commit_duration_seconds", help: "Time from BEGIN IMMEDIATE to the fsync that made the group durable",
        upperBounds: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1])
    private let failedCommits = MetricsRegistry.shared.counter(
        "db_commit_failures_total", help: "Group transactions that failed to commit")
    private let savepointPasses = MetricsRegistry.shared.counter(
        "db_write_group_reruns_total", help: "Groups run a second time, with savepoints, after one of their items threw")

    /// Takes ownership of `connection`, which must be open read-write, and starts the writer
    /// thread. With `syncer`, the connection runs with `synchronous=NORMAL` and completions wait
    /// for the syncer's fsync; without it, the connection must run with `synchronous=FULL`.
    init(connection: SQLiteConnection, syncer: WALSyncer?, configuration: Configuration, logger: Logger) {
        self.connection = connection
        self.syncer = syncer
        self.configuration = configuration
        self.logger = logger

        let thread = Thread { [self] in
            writerThread.store(UInt(pthread_self()), ordering: .releasing)
            runLoop()
        }
        thread.name = "db-writer"
        thread.start()
    }

    /// Normal items submitted whose completion has not run yet: the requests waiting for a
    /// commit. A measure of load, read without a lock.
    public var waitingRequests: Int {
        normalItemsInFlight.load(ordering: .relaxed)
    }

    /// Normal items whose completion ran, since the writer started (committed or failed).
    public var completedRequests: Int {
        normalItemsCompleted.load(ordering: .relaxed)
    }

    /// Nanoseconds the writer thread has waited for work since it started. The rest of its
    /// time went to transactions and checkpoints. Read without a lock.
    public var idleNanosecondsTotal: UInt64 {
        idleNanoseconds.load(ordering: .relaxed)
    }

    /// Queues `work` for the next group transaction. `completion` runs on the writer thread, or
    /// on the syncer's thread when there is one, once the transaction is durable (or failed).
    /// It must not block: hand longer work on.
    /// A throwing `work` rolls back only its own changes; its error is the completion's failure.
    /// `work` may run twice when another item of its group throws (see the type's notes), so
    /// it must not change anything outside the connection unless it throws.
    public func submit<T: Sendable>(priority: Priority = .normal,
                                    _ work: @escaping @Sendable (SQLiteConnection) throws -> T,
                                    completion callerCompletion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let completion: @Sendable (Result<T, any Error>) -> Void
        switch priority {
        case .normal:
            normalItemsInFlight.add(1, ordering: .relaxed)
            completion = { [self] result in
                normalItemsInFlight.subtract(1, ordering: .relaxed)
                normalItemsCompleted.add(1, ordering: .relaxed)
                callerCompletion(result)
            }
        case .background:
            completion = callerCompletion
        }
        let isRequest = priority == .normal
        let item = WorkItem(run: { connection, isolated in
            let result = isolated
                ? DatabaseWriter.runInSavepoint(work, on: connection)
                : Result { try work(connection) }
            let succeeded = if case .success = result { true } else { false }
            return Completion(succeeded: succeeded, finish: { groupError in
                if let groupError, succeeded {
                    completion(.failure(groupError))
                } else {
                    completion(result)
                }
            })
        }, fail: { error in
            completion(.failure(error))
        })

        let admission = state.withLock { state -> Admission in
            guard !state.isClosing else { return .rejected }
            if isRequest {
                state.requests.append(item)
            } else {
                state.background.append(item)
            }
            guard state.writerIsWaiting else { return .queued }
            state.writerIsWaiting = false
            return .queuedAndWake
        }
        switch admission {
        case .queued:
            break
        case .queuedAndWake:
            wakeUp.signal()
        case .rejected:
            completion(.failure(DatabaseWriterError.closed))
        }
    }

    /// Submits `work` and waits for the durable commit. Never call it on the writer thread or
    /// in a completion (it throws `calledOnWriterThread`), or on an event-loop thread, where waiting stalls
    /// every connection of the loop.
    public func perform<T: Sendable>(_ work: @escaping @Sendable (SQLiteConnection) throws -> T) throws -> T {
        let current = UInt(pthread_self())
        guard current != writerThread.load(ordering: .acquiring),
              current != syncer?.thread.load(ordering: .acquiring) else {
            throw DatabaseWriterError.calledOnWriterThread
        }
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<T, any Error>?>(nil)
        submit(work) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }

    /// Runs the queued work, then stops the writer thread and waits for it. Later submissions
    /// fail with `DatabaseWriterError.closed`.
    func close() {
        let alreadyClosing = state.withLock { state -> Bool in
            let was = state.isClosing
            state.isClosing = true
            return was
        }
        guard !alreadyClosing else { return }
        state.withLock { $0.writerIsWaiting = false }
        wakeUp.signal()
        stopped.wait()
    }

    // MARK: - Writer thread

    private func runLoop() {
        var hasUncheckpointedWrites = false
        while true {
            gatherWhileSyncing()
            let batch = state.withLock { state -> [WorkItem]? in
                state.writerIsWaiting = false
                if state.requests.isEmpty && state.background.isEmpty {
                    if state.isClosing { return nil }
                    state.writerIsWaiting = true
                    return []
                }
                // Room for background items is kept first, so requests that fill every group
                // cannot hold the engine's writes back.
                let beside = max(configuration.backgroundItemsBesideRequests, 1)
                let reserved = state.requests.isEmpty ? 0 : min(state.background.count, beside)
                let requestCount = min(state.requests.count, max(configuration.maximumGroupSize - reserved, 1))
                let backgroundRoom = requestCount > 0
                    ? min(configuration.maximumGroupSize - requestCount, beside)
                    : configuration.maximumGroupSize
                let backgroundCount = min(state.background.count, backgroundRoom)
                let batch = Array(state.requests.prefix(requestCount)) + state.background.prefix(backgroundCount)
                state.requests.removeFirst(requestCount)
                state.background.removeFirst(backgroundCount)
                return batch
            }
            guard let batch else { break }

            if batch.isEmpty {
                let idleSince = TimeFormat.monotonicNanoseconds()
                if hasUncheckpointedWrites {
                    let timeout = DispatchTime.now() + .milliseconds(configuration.idleCheckpointDelay)
                    let result = wakeUp.wait(timeout: timeout)
                    idleNanoseconds.add(TimeFormat.monotonicNanoseconds() - idleSince, ordering: .relaxed)
                    if result == .timedOut {
                        checkpointWhenIdle()
                        hasUncheckpointedWrites = false
                    }
                } else {
                    wakeUp.wait()
                    idleNanoseconds.add(TimeFormat.monotonicNanoseconds() - idleSince, ordering: .relaxed)
                }
                continue
            }

            commit(batch)
            hasUncheckpointedWrites = true
        }

        syncer?.close()
        checkpointWhenIdle()
        stopped.signal()
    }

    private func commit(_ batch: [WorkItem]) {
        let started = TimeFormat.monotonicNanoseconds()

        // The fast pass runs every item without savepoints. The first item that throws keeps
        // its completion with its error. Then the group is rolled back and the other items run
        // again, each in its own savepoint.
        var completions = [Completion?](repeating: nil, count: batch.count)
        var groupError: (any Error)?
        var failedIndex: Int?
        switch runGroup(batch, completions: &completions, isolated: false) {
        case .ran:
            groupError = finishTransaction()
        case .itemFailed(let index):
            failedIndex = index
            try? connection.run("ROLLBACK")
            savepointPasses.increment()
            logger.debug("a write of the group failed, so the group runs again with savepoints", [
                ("items", String(batch.count)), ("failedItem", String(index)),
            ])
            for index in completions.indices where index != failedIndex { completions[index] = nil }
            switch runGroup(batch, completions: &completions, isolated: true) {
            case .ran, .itemFailed:
                groupError = finishTransaction()
            case .groupFailed(let error):
                groupError = error
            }
        case .groupFailed(let error):
            groupError = error
        }

        if let groupError {
            if !connection.isAutocommit { try? connection.run("ROLLBACK") }
            failedCommits.increment()
            logger.error("write transaction rolled back", [("error", "\(groupError)"), ("items", String(batch.count))])
            let reports = batch.indices.map { index -> @Sendable () -> Void in
                if let completion = completions[index] {
                    return { completion.finish(groupError) }
                }
                let item = batch[index]
                return { item.fail(groupError) }
            }
            // Groups committed before this one may still wait for the syncer's fsync. Reporting
            // the failure through the syncer too keeps every completion in commit order.
            if let syncer {
                syncer.afterSync { _ in
                    for report in reports { report() }
                }
            } else {
                for report in reports { report() }
            }
        } else {
            groupSizes.observe(Double(batch.count))
            let finished = completions.compactMap { $0 }
            let commitSeconds = self.commitSeconds
            // Released with this closure on the syncer thread, so freeing what the items captured
            // costs the writer thread no time.
            let retired = batch
            let finish: @Sendable ((any Error)?) -> Void = { syncError in
                if syncError == nil {
                    commitSeconds.observe(Double(TimeFormat.monotonicNanoseconds() - started) / 1e9)
                }
                for completion in finished { completion.finish(syncError) }
                withExtendedLifetime(retired) {}
            }
            if let syncer {
                syncer.afterSync(finish)
            } else {
                finish(nil)
            }
        }
    }

    private enum GroupRun {
        /// Every item ran; the transaction is open.
        case ran
        /// An item threw in a pass without savepoints; the transaction is open.
        case itemFailed(Int)
        /// The transaction could not begin, or SQLite rolled it back.
        case groupFailed(any Error)
    }

    /// Begins a transaction and runs the items of `batch` whose completion is not set yet.
    /// Without savepoints it stops at the first item that throws.
    private func runGroup(_ batch: [WorkItem], completions: inout [Completion?], isolated: Bool) -> GroupRun {
        do {
            try connection.run("BEGIN IMMEDIATE")
        } catch {
            return .groupFailed(error)
        }
        for (index, item) in batch.enumerated() where completions[index] == nil {
            let completion = item.run(connection, isolated)
            completions[index] = completion
            // A few errors (SQLITE_FULL, SQLITE_IOERR, ...) make SQLite roll back the whole
            // transaction (https://sqlite.org/lang_transaction.html#response_to_errors_within_a_transaction).
            if connection.isAutocommit {
                return .groupFailed(DatabaseWriterError.transactionRolledBack)
            }
            if !isolated && !completion.succeeded {
                return .itemFailed(index)
            }
        }
        return .ran
    }

    /// Commits the open transaction; returns the error when it fails.
    private func finishTransaction() -> (any Error)? {
        do {
            try connection.run("COMMIT")
            return nil
        } catch {
            return error
        }
    }

    private static func runInSavepoint<T>(_ work: (SQLiteConnection) throws -> T, on connection: SQLiteConnection) -> Result<T, any Error> {
        do {
            try connection.run("SAVEPOINT item")
        } catch {
            return .failure(error)
        }
        do {
            let value = try work(connection)
            try connection.run("RELEASE item")
            return .success(value)
        } catch {
            if !connection.isAutocommit {
                try? connection.run("ROLLBACK TO item")
                try? connection.run("RELEASE item")
            }
            return .failure(error)
        }
    }

    /// Copies the WAL into the database and truncates it to zero bytes. When a reader still uses
    /// part of the WAL, SQLite copies what it can and the next idle period tries again.
    private func checkpointWhenIdle() {
        // A busy timeout of 0 keeps the writer from waiting on readers here.
        connection.setBusyTimeout(milliseconds: 0)
        defer { connection.setBusyTimeout(milliseconds: EventStore.busyTimeoutMilliseconds) }
        do {
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        } catch {
            logger.debug("idle checkpoint skipped", [("error", "\(error)")])
        }
    }
}
