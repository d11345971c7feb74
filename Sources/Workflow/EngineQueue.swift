import EventStore
import Foundation
import Telemetry

/// The engine's in-memory queue: a `RootQueue` behind a lock and a condition variable that
/// worker threads wait on, plus the sync waiters and the count of executions not yet committed.
///
/// It holds at most `memoryLimit` queued events. Past it, newly accepted events stay only in
/// the database, PENDING, and the queue is "spilled": a worker reloads them in commit order
/// (`Reload`), a chunk at a time whenever the queue is down to half the limit, until none is left. Accepted
/// events join the queue again only then, so the events of a root keep their order.
/// Due SCHEDULED events and events put back after a stale write always join the queue.
///
/// A sync request waits behind the events of its root only. Its root runs before the other
/// ready roots (see `RootQueue`). While the queue is spilled, a worker also reads that root's
/// PENDING events at once (`RootReload`), so they join the queue ahead of the backlog.
final class EngineQueue: @unchecked Sendable {
    /// Reads up to `limit` PENDING ORCHESTRATION events committed after `cursor` (from the
    /// oldest one when nil), in commit order, with the cursor of the last one.
    typealias Reload = @Sendable (_ cursor: Int64?, _ limit: Int) throws -> [(rowid: Int64, event: Event)]
    /// Reads every PENDING ORCHESTRATION event of `root`, in commit order.
    typealias RootReload = @Sendable (_ root: RootKey) throws -> [Event]

    init(maxUncommittedPerRoot: Int, maxInFlight: Int, memoryLimit: Int, pacing: ExecutionPacing,
         reload: @escaping Reload, rootReload: @escaping RootReload = { _ in [] }, logger: Logger) {
        roots = RootQueue(maxUncommitted: maxUncommittedPerRoot)
        self.maxInFlight = max(maxInFlight, 1)
        self.memoryLimit = max(memoryLimit, 2)
        self.pacing = pacing
        self.reload = reload
        self.rootReload = rootReload
        self.logger = logger
    }

    private let memoryLimit: Int
    private let reload: Reload
    private let rootReload: RootReload
    /// Events read by one reload: small reads keep the memory they use brief and small.
    private static let reloadChunk = 2_000
    // Guarded by `condition`.
    private var spill = SpillState()

    /// What the queue knows of the events it left in the database.
    private struct SpillState {
        var isSpilled = false
        /// The rowid of the last event reloaded; nil before the first reload of a spill.
        var cursor: Int64?
        var isReloading = false
        /// While a reload reads: events accepted meanwhile, and ids of events finished meanwhile
        /// (the reload's snapshot may still show them PENDING).
        var acceptedDuringReload: [Event] = []
        var finishedDuringReload: Set<String> = []
        /// Events of sync requests accepted while spilled, whose roots a worker reads next.
        var syncEvents: [Event] = []
        /// Ids of sync events left in the database: whichever read queues one, it queues it as
        /// a sync event.
        var syncEventIDs: Set<String> = []
        /// Events left in the database since the spill began, or PENDING at start, for the log
        /// and the pacing's backlog limit.
        var leftInStore = 0
    }

    /// How long a paced worker waits before it looks at the load again.
    private static let pacingRecheckSeconds = 0.005

    /// Workers waiting in `take` without a time limit (paced workers wait with one).
    private var idleWorkers = 0
    /// Taken events not finished yet, over all roots, at which `take` waits.
    private let maxInFlight: Int
    private let logger: Logger
    // Guarded by `condition`.
    private var pacing: ExecutionPacing

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var roots: RootQueue

    private var waiters: [String: [SyncWaiter]] = [:]
    private var stopping = false
    private var inFlight = 0

    /// Queues events; returns how many were new. With `mayLeaveInStore`, the events are PENDING
    /// in the database and may stay there while the queue is spilled; without it (due SCHEDULED
    /// events, whose stored status is not PENDING) they always join the queue. `forSync` events
    /// (of `/event/sync`) left in the database have their roots read ahead of the backlog.
    @discardableResult
    func enqueue(_ events: [Event], mayLeaveInStore: Bool = true, forSync: Bool = false) -> Int {
        condition.lock()
        defer { condition.unlock() }
        var added = 0
        for event in events {
            if mayLeaveInStore && !spill.isSpilled && roots.queuedCount >= memoryLimit {
                spill.isSpilled = true
                spill.cursor = nil
                spill.leftInStore = 0
                logger.info("the queue is full: accepted events stay PENDING in the database and are reloaded in order", [
                    ("queued", String(roots.queuedCount)), ("memoryLimit", String(memoryLimit)),
                ])
            }
            if mayLeaveInStore && spill.isSpilled {
                // A reload may have read the event before this call: it is queued already.
                if forSync && roots.isKnown(event.id) {
                    roots.enqueue(event, forSync: true)
                    continue
                }
                if spill.isReloading { spill.acceptedDuringReload.append(event) }
                spill.leftInStore += 1
                if forSync {
                    spill.syncEvents.append(event)
                    spill.syncEventIDs.insert(event.id)
                    condition.signal()
                }
                continue
            }
            if roots.enqueue(event, forSync: forSync) { added += 1 }
        }
        // One waiting worker per new event is enough; waking all of them costs context switches.
        // Paced workers look again by themselves, but only while events are queued: workers
        // that found the queue empty wait without a time limit, so one of them is woken.
        let wakeUps = pacing.isPacing ? min(added, idleWorkers, 1) : min(added, 8)
        for _ in 0..<wakeUps {
            condition.signal()
        }
        return added
    }

    /// Leaves every PENDING event in the database, for the workers to reload in commit order:
    /// how the engine starts, so a long backlog is never read into memory at once.
    /// `leftInStore` is the number of PENDING events, which counts toward the pacing's backlog limit.
    func startSpilled(leftInStore: Int = 0) {
        condition.lock()
        spill.isSpilled = true
        spill.cursor = nil
        spill.leftInStore = leftInStore
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the next event of a ready root and returns it; returns nil once the engine is
    /// stopping. It also waits while `maxInFlight` events are in flight, and while the pacing
    /// does not allow an execution.
    func take() -> TakenEvent? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if stopping { return nil }
            if spill.isSpilled && !spill.isReloading && !spill.syncEvents.isEmpty {
                readRootsOfSyncEvents()
                continue
            }
            if spill.isSpilled && !spill.isReloading && roots.queuedCount <= memoryLimit / 2 {
                reloadSpilledEvents()
                continue
            }
            guard inFlight < maxInFlight, roots.hasReady else {
                idleWorkers += 1
                condition.wait()
                idleWorkers -= 1
                continue
            }
            let wasCatchingUp = pacing.isCatchingUp
            let probeBefore = pacing.probe.map { ($0.probeCount, $0.verdict, $0.reversalCount) }
            let decision = pacing.decide(queued: roots.queuedCount + (spill.isSpilled ? spill.leftInStore : 0))
            if pacing.isCatchingUp != wasCatchingUp {
                logPacingChange()
            }
            if let probe = pacing.probe, let probeBefore {
                if probe.probeCount != probeBefore.0 {
                    logProbe(probe, changed: probe.verdict != probeBefore.1)
                } else if probe.reversalCount != probeBefore.2 {
                    logger.info("paced, requests came no faster than keeping up: executions run unpaced", [
                        ("requestRate", String(Int(pacing.smoothedRequestRate))),
                        ("keepingUpRate", String(Int(probe.keepingUpRate))), ("reversals", String(probe.reversalCount)),
                    ])
                } else if probe.verdict != probeBefore.1 {
                    logger.info("requests stopped pressing: pacing is measured again when they press")
                }
            }
            guard decision == .run else {
                _ = condition.wait(until: Date(timeIntervalSinceNow: EngineQueue.pacingRecheckSeconds))
                continue
            }
            guard let taken = roots.take() else {
                pacing.refund()
                idleWorkers += 1
                condition.wait()
                idleWorkers -= 1
                continue
            }
            inFlight += 1
            return taken
        }
    }

    /// Reads the next spilled events, with the lock released while it reads; call it with the
    /// lock held. When the read reaches the last PENDING event, the spill ends: events accepted
    /// during the read join the queue after the ones read, and later ones join it directly.
    private func reloadSpilledEvents() {
        spill.isReloading = true
        let cursor = spill.cursor
        let limit = min(memoryLimit - roots.queuedCount, EngineQueue.reloadChunk)
        condition.unlock()
        let result = Result { try reload(cursor, limit) }
        condition.lock()
        defer { endRead() }

        switch result {
        case .success(let found):
            // Sync events the read found keep their priority; reading their roots ahead then
            // finds them queued already.
            for (_, event) in found where !spill.finishedDuringReload.contains(event.id) {
                roots.enqueue(event, forSync: spill.syncEventIDs.contains(event.id))
            }
            forgetQueuedSyncEvents()
            if let last = found.last { spill.cursor = last.rowid }
            spill.leftInStore = max(spill.leftInStore - found.count, 0)
            guard found.count < limit else { return }
            for event in spill.acceptedDuringReload where !spill.finishedDuringReload.contains(event.id) {
                roots.enqueue(event, forSync: spill.syncEventIDs.contains(event.id))
            }
            spill.isSpilled = false
            spill.syncEvents = []
            spill.syncEventIDs = []
            // An estimate until here (duplicates and events accepted during the read skew it);
            // none is left now.
            spill.leftInStore = 0
            logger.info("every event left in the database is queued again", [("queued", String(roots.queuedCount))])
        case .failure(let error):
            logger.error("cannot reload the PENDING events left in the database; retrying in 1 s", [("error", "\(error)")])
            // `beginStopping` may have broadcast while the read ran: a stopping engine must not wait.
            if !stopping {
                _ = condition.wait(until: Date(timeIntervalSinceNow: 1))
            }
        }
    }

    /// Reads the PENDING events of the roots of sync events accepted while spilled, and queues
    /// them in commit order. Call it with the lock held: it releases the lock while it reads.
    ///
    /// Events of such a root that are in memory already came earlier in commit order, and the
    /// queue skips them when read again. The spill goes on: a later reload skips what this read
    /// queued while it is queued or running, and no longer finds PENDING what has committed.
    /// It shares the reload's flag, so the two never read at once and `finish` records the
    /// events that end during the read.
    private func readRootsOfSyncEvents() {
        spill.isReloading = true
        var rootsToRead: [RootKey] = []
        for event in spill.syncEvents {
            let root = RootKey(of: event)
            if !rootsToRead.contains(root) { rootsToRead.append(root) }
        }
        spill.syncEvents = []
        condition.unlock()
        let results = rootsToRead.map { root in (root, Result { try rootReload(root) }) }
        condition.lock()
        defer { endRead() }

        for (root, result) in results {
            switch result {
            case .success(let found):
                // The root's events after its last sync event stay for the reload, so a root
                // with a long backlog does not fill the memory queue.
                let lastSync = found.lastIndex { spill.syncEventIDs.contains($0.id) } ?? -1
                var queued = 0
                for event in found.prefix(lastSync + 1) where !spill.finishedDuringReload.contains(event.id) {
                    if roots.enqueue(event, forSync: spill.syncEventIDs.contains(event.id)) { queued += 1 }
                }
                spill.leftInStore = max(spill.leftInStore - queued, 0)
                logger.debug("a sync request's root was read ahead of the backlog", [
                    ("root", root.description), ("queued", String(queued)),
                ])
            case .failure(let error):
                // Its events stay in the database and come back with the backlog, in order.
                logger.error("cannot read the PENDING events of a sync request's root; it waits for the backlog", [
                    ("root", root.description), ("error", "\(error)"),
                ])
            }
        }
        forgetQueuedSyncEvents()
    }

    /// Drops the ids of sync events that are queued, running or finished from `spill.syncEventIDs`.
    private func forgetQueuedSyncEvents() {
        spill.syncEventIDs = spill.syncEventIDs.filter {
            !roots.isKnown($0) && !spill.finishedDuringReload.contains($0)
        }
    }

    /// Ends a read of the database by `reloadSpilledEvents` or `readRootsOfSyncEvents`, with the
    /// lock held, and wakes the workers that waited for it.
    private func endRead() {
        spill.isReloading = false
        spill.acceptedDuringReload = []
        spill.finishedDuringReload = []
        condition.broadcast()
    }

    private func logPacingChange() {
        if pacing.isCatchingUp {
            logger.info("the queue passed its backlog limit: executions are not paced until it is under half of it", [
                ("queued", String(roots.queuedCount)), ("backlogLimit", String(pacing.backlogLimit)),
            ])
        } else {
            logger.info("the queue is under half its backlog limit: executions are paced again while requests press", [
                ("queued", String(roots.queuedCount)), ("backlogLimit", String(pacing.backlogLimit)),
            ])
        }
    }

    private func logProbe(_ probe: PacingProbe, changed: Bool) {
        let message = probe.verdict == .helps
            ? "pacing raises the request rate: executions are paced while requests press"
            : "pacing does not raise the request rate: executions run unpaced"
        let extra = [
            ("pacedRate", String(Int(probe.pacedRate))), ("keepingUpRate", String(Int(probe.keepingUpRate))),
            ("probe", String(probe.probeCount)),
        ]
        if changed {
            logger.info(message, extra)
        } else {
            logger.debug(message, extra)
        }
    }

    /// Adds an outcome's entity writes to its root's layer, before the outcome is submitted.
    func willSubmit(_ root: RootKey, generation: Int, writes: [EntityWrite]) {
        condition.lock()
        roots.willSubmit(root, generation: generation, writes: writes)
        condition.unlock()
    }

    /// Lets the root execute its next event, once the outcome is in the writer's queue.
    func didSubmit(_ root: RootKey) {
        condition.lock()
        roots.didSubmit(root)
        if roots.hasReady { condition.signal() }
        condition.unlock()
    }

    /// Ends the execution of `event` after its commit (or when it will not run again) and
    /// returns the sync waiters to notify.
    func finish(_ event: Event, root: RootKey) -> [SyncWaiter] {
        condition.lock()
        defer { condition.unlock() }
        roots.finish(event, root: root)
        if spill.isReloading { spill.finishedDuringReload.insert(event.id) }
        inFlight -= 1
        wakeAfterSettling()
        return waiters.removeValue(forKey: event.id) ?? []
    }

    /// Puts back an event whose write was stale; its sync waiters keep waiting.
    func requeue(_ event: Event, root: RootKey) {
        condition.lock()
        roots.requeue(event, root: root)
        inFlight -= 1
        wakeAfterSettling()
        condition.unlock()
    }

    /// Marks the root's writes in flight stale; called on the writer thread when a write failed.
    func invalidate(_ root: RootKey) {
        condition.lock()
        roots.invalidate(root)
        condition.unlock()
    }

    func isCurrent(_ root: RootKey, generation: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return roots.isCurrent(root, generation: generation)
    }

    /// Wakes a worker when a root became ready, and everyone while stopping, when
    /// `waitUntilNothingInFlight` may be waiting. Call it with the lock held.
    private func wakeAfterSettling() {
        if stopping {
            condition.broadcast()
        } else if roots.hasReady {
            condition.signal()
        }
    }

    func addWaiter(_ waiter: SyncWaiter, for eventId: String) {
        condition.lock()
        waiters[eventId, default: []].append(waiter)
        condition.unlock()
    }

    func removeWaiter(_ waiter: SyncWaiter, for eventId: String) {
        condition.lock()
        waiters[eventId]?.removeAll { $0 === waiter }
        if waiters[eventId]?.isEmpty == true { waiters[eventId] = nil }
        condition.unlock()
    }

    /// Makes `take` return nil from now on and returns the sync waiters still waiting.
    func beginStopping() -> [SyncWaiter] {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        let all = waiters.values.flatMap { $0 }
        waiters.removeAll()
        return all
    }

    /// Blocks until every taken event has been committed.
    func waitUntilNothingInFlight() {
        condition.lock()
        while inFlight > 0 {
            condition.wait()
        }
        condition.unlock()
    }

    /// Events queued in memory, events left PENDING in the database since the last spill
    /// began or PENDING at start (an estimate), and events running.
    var counts: (queued: Int, leftInStore: Int, running: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (roots.queuedCount, spill.isSpilled ? spill.leftInStore : 0, inFlight)
    }

    /// The paced request rate over the rate with executions keeping up, as the last probe
    /// measured them; 0 before the first probe.
    var pacingGain: Double {
        condition.lock()
        defer { condition.unlock() }
        guard let probe = pacing.probe, probe.probeCount > 0, probe.keepingUpRate > 0 else { return 0 }
        return probe.pacedRate / probe.keepingUpRate
    }

    /// Whether the last decision paced an execution, for metrics.
    var isPacing: Bool {
        condition.lock()
        defer { condition.unlock() }
        return pacing.isPacing
    }
}
