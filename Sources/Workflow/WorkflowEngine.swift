import Dispatch
import EventStore
import Foundation
import Synchronization
import Telemetry

/// Runs accepted ORCHESTRATION events through their workflows: the durable queue, its worker
/// threads, the scheduler for SCHEDULED events and the webhook outbox.
///
/// Guarantees:
/// - PENDING rows are the queue. `start()` queues every PENDING event again and schedules every
///   SCHEDULED one, so an event acknowledged before a crash runs after the restart.
/// - An execution's changes and its event's final status commit in one transaction, and the
///   status only changes from PENDING or SCHEDULED, so each event is processed once in effect.
/// - Events of one root execute one at a time, in accepted order. The next one may execute
///   before the previous one committed, because it reads the previous changes and the writer
///   commits them in order. When a write fails, the later executions of that root are
///   discarded and run again. Different roots run in parallel on `workerCount` threads.
/// - `stop()` lets executions in progress commit and leaves queued events PENDING.
public final class WorkflowEngine: EventSubmissionListener, Sendable {
    public let store: EventStore
    public let catalog: WorkflowCatalog
    public let configuration: WorkflowEngineConfiguration
    let executor: WorkflowExecutor
    private let logger: Logger
    private let queue: EngineQueue
    private let scheduler: EventScheduler
    private let webhooks: WebhookDispatcher
    private let workersDone = DispatchGroup()
    private let lifecycle = Mutex(Lifecycle.created)
    private let failureLogLimiter = LogRateLimiter(limit: 20, intervalSeconds: 10)
    /// Events that hit a constraint error once and were queued to run again.
    private let conflictRetries = Mutex<Set<String>>([])

    private enum Lifecycle { case created, running, stopped }

    private let executed: [String: Counter]
    private let queueLatency = MetricsRegistry.shared.histogram(
        "workflow_queue_latency_seconds", help: "Time from an event's acceptance to the commit of its execution",
        upperBounds: [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 10])
    private let executionSeconds = MetricsRegistry.shared.histogram(
        "workflow_execution_duration_seconds", help: "Time to execute one event before its commit",
        upperBounds: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1])

    public init(store: EventStore, workflows: [WorkflowDefinition], configuration: WorkflowEngineConfiguration = WorkflowEngineConfiguration(),
                logger: Logger = Logger(label: "workflow")) {
        self.store = store
        self.catalog = WorkflowCatalog(workflows)
        self.configuration = configuration
        self.executor = WorkflowExecutor(catalog: catalog, limits: configuration.limits)
        self.logger = logger
        let writer = store.writer
        let pacing = ExecutionPacing(isEnabled: configuration.executionPacing, share: configuration.executionShareUnderLoad,
                                     busyThreshold: configuration.busyRequestThreshold,
                                     backlogLimit: configuration.deferredBacklogLimit,
                                     minimumRequestRate: Double(configuration.pacingMinimumRequestRate),
                                     probe: PacingProbe(),
                                     load: { (writer.waitingRequests, writer.completedRequests) })
        self.queue = EngineQueue(maxUncommittedPerRoot: configuration.maxUncommittedPerRoot,
                                 maxInFlight: configuration.maxUncommitted, memoryLimit: configuration.queueMemoryLimit,
                                 pacing: pacing, reload: { [store] cursor, limit in
                                     try store.read { try EventRecords.pendingOrchestrationEvents(after: cursor, limit: limit, on: $0) }
                                 }, rootReload: { [store] root in
                                     // Events that name their root by id only have no index to find them by; they
                                     // come back with the backlog.
                                     guard !root.ref.hasPrefix(RootKey.idPrefix) else { return [] }
                                     let found = try store.read {
                                         try EventRecords.pendingOrchestrationEvents(retailerId: root.retailerId, rootRef: root.ref, on: $0)
                                     }
                                     return found.filter { RootKey(of: $0) == root }
                                 }, logger: logger)
        self.webhooks = WebhookDispatcher(store: store, configuration: configuration.webhooks, logger: logger)
        var executed: [String: Counter] = [:]
        for status in [EventStatus.complete, EventStatus.failed, EventStatus.noMatch] {
            executed[status] = MetricsRegistry.shared.counter("workflow_events_executed_total", help: "Executed ORCHESTRATION events by final status",
                                                              labels: [("status", status)])
        }
        self.executed = executed
        let queue = self.queue
        self.scheduler = EventScheduler(due: { events in queue.enqueue(events, mayLeaveInStore: false) })

        MetricsRegistry.shared.gauge("workflow_queue_depth", help: "ORCHESTRATION events queued in memory and not yet executing") { [queue] in
            Double(queue.counts.queued)
        }
        MetricsRegistry.shared.gauge("workflow_queue_left_in_store",
                                     help: "Accepted events left PENDING in the database while the memory queue is full, to be read back in order") { [queue] in
            Double(queue.counts.leftInStore)
        }
        MetricsRegistry.shared.gauge("workflow_executions_paced", help: "1 when the last decision of a worker limited executions (paced while requests press, or one per request during a pacing probe), else 0") { [queue] in
            queue.isPacing ? 1 : 0
        }
        MetricsRegistry.shared.gauge("workflow_pacing_gain",
                                     help: "The committed request rate with executions paced over the rate with one execution per request, as last measured; pacing applies from 1.3") { [queue] in
            queue.pacingGain
        }
    }

    // MARK: - Lifecycle

    /// Queues every PENDING event, schedules every SCHEDULED one and starts the workers, the
    /// scheduler and the webhook dispatcher. Call it before the HTTP server accepts events.
    public func start() throws {
        let shouldStart = lifecycle.withLock { state -> Bool in
            guard state == .created else { return false }
            state = .running
            return true
        }
        guard shouldStart else { return }

        let pending: Int
        let scheduled: [Event]
        do {
            (pending, scheduled) = try store.read { connection in
                (try EventRecords.countPendingOrchestrationEvents(on: connection),
                 try EventRecords.events(withStatus: EventStatus.scheduled, on: connection))
            }
        } catch {
            // No thread has started yet: `stop` must not wait for any.
            lifecycle.withLock { $0 = .stopped }
            throw error
        }
        // The workers read the PENDING events in commit order, a part at a time.
        queue.startSpilled(leftInStore: pending)
        scheduler.schedule(scheduled.filter { $0.type == EventType.orchestration })

        for index in 0..<max(configuration.workerCount, 1) {
            workersDone.enter()
            let thread = Thread { [self] in
                runWorker()
                workersDone.leave()
            }
            thread.name = "workflow-worker-\(index)"
            thread.start()
        }
        scheduler.start()
        webhooks.start()
        logger.info("workflow engine started", [
            ("workers", String(configuration.workerCount)), ("workflows", catalog.workflows.map(\.name).joined(separator: ",")),
            ("pendingToReload", String(pending)), ("scheduled", String(scheduled.count)),
        ])
    }

    /// Finishes the executions in progress, leaves queued events PENDING and stops every thread.
    /// Sync requests still waiting get `.timedOut`: their events run after the next start.
    public func stop() {
        let shouldStop = lifecycle.withLock { state -> Bool in
            guard state == .running else {
                state = .stopped
                return false
            }
            state = .stopped
            return true
        }
        guard shouldStop else { return }

        let waiting = queue.beginStopping()
        workersDone.wait()
        queue.waitUntilNothingInFlight()
        scheduler.stop()
        webhooks.stop()
        for waiter in waiting {
            waiter.finish(.timedOut(eventId: ""))
        }
        let counts = queue.counts
        logger.info("workflow engine stopped", [("leftPending", String(counts.queued + counts.leftInStore))])
    }

    // MARK: - Intake

    /// Queues events that `/event/async` just committed. Runs on the writer thread: only
    /// takes a lock and signals.
    public func eventsAccepted(_ events: [Event]) {
        let now = TimeFormat.nowMilliseconds()
        var ready: [Event] = []
        var due: [Event] = []
        var later: [Event] = []
        for event in events where event.type == EventType.orchestration {
            if event.eventStatus == EventStatus.scheduled, let time = event.scheduledOn, time > now {
                later.append(event)
            } else if event.eventStatus == EventStatus.scheduled {
                // Already due: stored SCHEDULED, so a reload of PENDING events would never
                // find it, and it must not be left in the database by a full queue.
                due.append(event)
            } else if event.eventStatus == EventStatus.pending {
                ready.append(event)
            }
        }
        queue.enqueue(ready)
        queue.enqueue(due, mayLeaveInStore: false)
        scheduler.schedule(later)
    }

    /// Stores `event` PENDING, queues it behind the queued events of its root and calls
    /// `completion` once its execution committed, or after `timeoutMilliseconds` (the
    /// configured sync timeout when nil) with `.timedOut`.
    public func execute(_ event: Event, timeoutMilliseconds: Int? = nil,
                        completion: @escaping @Sendable (SyncExecutionResult) -> Void) {
        let waiter = makeWaiter(eventId: event.id, timeoutMilliseconds: timeoutMilliseconds, completion: completion)
        let queue = self.queue

        var pendingEvent = event
        pendingEvent.eventStatus = EventStatus.pending
        let stored = pendingEvent
        store.writer.submit({ connection in
            try EventRecords.insert(stored, on: connection)
        }, completion: { result in
            switch result {
            case .success:
                queue.addWaiter(waiter, for: stored.id)
                queue.enqueue([stored], forSync: true)
            case .failure(let error):
                waiter.finish(.rejected("the event could not be stored: \(error)"))
            }
        })
    }

    /// Queues `event`, which the caller committed PENDING in its own transaction, and calls
    /// `completion` as `execute` does.
    public func executeStored(_ event: Event, timeoutMilliseconds: Int? = nil,
                              completion: @escaping @Sendable (SyncExecutionResult) -> Void) {
        let waiter = makeWaiter(eventId: event.id, timeoutMilliseconds: timeoutMilliseconds, completion: completion)
        queue.addWaiter(waiter, for: event.id)
        queue.enqueue([event], forSync: true)
    }

    /// Calls `completion` with the outcome of the stored event `eventId`: at once when it was
    /// processed, else once its execution commits, or after the timeout with `.timedOut`.
    /// Nothing runs the event again: it is executed by the queue like any PENDING event.
    public func awaitOutcome(of eventId: String, timeoutMilliseconds: Int? = nil,
                             completion: @escaping @Sendable (SyncExecutionResult) -> Void) {
        let waiter = SyncWaiter(completion)
        // The waiter is registered before the read, so an execution that commits after the
        // read still finishes it, and one that committed before is found by the read. The time
        // limit starts after the read, so an event found processed is never reported late.
        queue.addWaiter(waiter, for: eventId)
        do {
            switch try store.read({ try StoredExecutionReport.read(eventId: eventId, on: $0) }) {
            case .processed(let report):
                queue.removeWaiter(waiter, for: eventId)
                waiter.finish(.processed(report))
            case .notFound:
                queue.removeWaiter(waiter, for: eventId)
                waiter.finish(.rejected("event \(eventId) is not stored"))
            case .waiting:
                startTimeout(waiter, eventId: eventId, timeoutMilliseconds: timeoutMilliseconds)
            }
        } catch {
            logger.error("failed to read the outcome of an event", [("eventId", eventId), ("error", "\(error)")])
            queue.removeWaiter(waiter, for: eventId)
            waiter.finish(.rejected("the outcome of event \(eventId) could not be read: \(error)"))
        }
    }

    /// Returns a waiter for `eventId` that finishes with `.timedOut` after the timeout (the
    /// configured sync timeout when nil), unless the execution finished it first.
    private func makeWaiter(eventId: String, timeoutMilliseconds: Int?,
                            completion: @escaping @Sendable (SyncExecutionResult) -> Void) -> SyncWaiter {
        let waiter = SyncWaiter(completion)
        startTimeout(waiter, eventId: eventId, timeoutMilliseconds: timeoutMilliseconds)
        return waiter
    }

    private func startTimeout(_ waiter: SyncWaiter, eventId: String, timeoutMilliseconds: Int?) {
        let timeout = timeoutMilliseconds ?? configuration.syncTimeoutMilliseconds
        let queue = self.queue
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(timeout)) {
            queue.removeWaiter(waiter, for: eventId)
            waiter.finish(.timedOut(eventId: eventId))
        }
    }

    /// Events queued in memory, left PENDING in the database by a full queue, executing and
    /// scheduled, for health and metrics.
    public var queueCounts: (queued: Int, leftInStore: Int, running: Int, scheduled: Int) {
        let counts = queue.counts
        return (counts.queued, counts.leftInStore, counts.running, scheduler.count)
    }

    // MARK: - Workers

    /// A write computed on top of an earlier write of the same root that then failed.
    struct StaleExecution: Error {}

    /// The nice value of the worker threads: positive, so lower than the event loops and the writer.
    static let workerNiceValue: Int32 = 5

    private func runWorker() {
        // Workers run at nice 5, so when the CPUs are busy the event loops and the database
        // writer, which accept and commit requests, run first. On Linux the nice value belongs
        // to the calling thread (setpriority(2)). On an idle machine it changes nothing; under
        // load the POST benchmark accepted about 15% more ORCHESTRATION events per second.
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, WorkflowEngine.workerNiceValue) != 0 {
            logger.debug("could not lower the priority of a workflow worker", [("errno", String(errno))])
        }

        while let taken = queue.take() {
            let started = TimeFormat.monotonicNanoseconds()
            let outcome: ExecutionOutcome
            do {
                outcome = try store.read { connection in
                    let entities = LayeredEntitySource(layer: taken.layer, base: SQLiteEntitySource(connection: connection))
                    return executor.execute(taken.event, entities: entities)
                }
            } catch {
                outcome = executor.failedOutcome(taken.event, storageError: error)
            }
            executionSeconds.observe(Double(TimeFormat.monotonicNanoseconds() - started) / 1e9)

            // The root's next event may execute once this outcome is queued in the writer,
            // which then commits the root's writes in execution order.
            queue.willSubmit(taken.root, generation: taken.generation, writes: outcome.entityWrites)
            commit(outcome, root: taken.root, generation: taken.generation)
            queue.didSubmit(taken.root)
        }
    }

    /// Writes an outcome in one work item of the group commit, unless a write of its root
    /// failed since it was computed (then the event runs again). When the write itself fails,
    /// the event is written FAILED with an exception audit. When that fails too, the event
    /// stays PENDING and runs again after the next start.
    private func commit(_ outcome: ExecutionOutcome, root: RootKey, generation: Int?) {
        let queue = self.queue
        let encodedRows = Result { () throws(EventRecordError) in try ExecutionWriter.encode(outcome) }
        // No request waits for this write, so it does not count as one in the writer's load,
        // which paces the executions (see `ExecutionPacing`).
        store.writer.submit(priority: .background, { connection in
            if let generation, !queue.isCurrent(root, generation: generation) {
                throw StaleExecution()
            }
            do {
                return try ExecutionWriter.write(outcome, rows: encodedRows.get(), on: connection)
            } catch {
                queue.invalidate(root)
                throw error
            }
        }, completion: { [self] result in
            switch result {
            case .success(let webhookIds):
                committed(outcome, root: root, webhookCount: webhookIds.count)
            case .failure(is StaleExecution):
                queue.requeue(outcome.event, root: root)
            case .failure(let error as ExecutionWriter.AlreadyProcessed):
                logger.warning("skipped an event processed already", [("eventId", outcome.event.id), ("error", "\(error)")])
                finish(outcome.event, root: root, report: nil)
            case .failure(let error as SQLiteError) where error.isConstraint && generation != nil && retryAfterConflict(outcome.event.id):
                // Another root's event created the same entity meanwhile: running the event
                // again from the committed state turns this into a clear EntityConflict failure.
                queue.invalidate(root)
                logger.info("an entity was created concurrently; running the event again", [
                    ("eventId", outcome.event.id), ("error", "\(error)"),
                ])
                queue.requeue(outcome.event, root: root)
            case .failure(let error):
                queue.invalidate(root)
                if generation != nil {
                    logger.error("cannot store an execution; marking the event FAILED", [
                        ("eventId", outcome.event.id), ("status", outcome.status), ("error", "\(error)"),
                    ])
                    commit(executor.failedOutcome(outcome.event, storageError: error), root: root, generation: nil)
                } else {
                    logger.error("cannot store a failed execution; the event stays PENDING until the next start", [
                        ("eventId", outcome.event.id), ("error", "\(error)"),
                    ])
                    finish(outcome.event, root: root, report: nil)
                }
            }
        })
    }

    private func committed(_ outcome: ExecutionOutcome, root: RootKey, webhookCount: Int) {
        let now = TimeFormat.nowMilliseconds()
        let acceptedAt = outcome.event.scheduledOn ?? outcome.event.generatedOn
        queueLatency.observe(Double(max(now - acceptedAt, 0)) / 1000)
        executed[outcome.status]?.increment()

        var ready: [Event] = []
        var later: [Event] = []
        for event in outcome.followUpEvents {
            if event.eventStatus == EventStatus.scheduled { later.append(event) } else { ready.append(event) }
        }
        queue.enqueue(ready)
        scheduler.schedule(later)
        if webhookCount > 0 {
            webhooks.wake()
        }
        // A feed of bad events must not flood the log: at most 20 lines per 10 s, with a count
        // of the ones left out. The exception audit of each failed event has the details.
        if outcome.status == EventStatus.failed, logger.isEnabled(.info), let dropped = failureLogLimiter.admit() {
            logger.info("event failed", [
                ("eventId", outcome.event.id), ("name", outcome.event.name), ("error", outcome.errorMessage ?? ""),
                ("notLoggedSinceLastLine", String(dropped)),
            ])
        }

        let report = ExecutionReport(eventId: outcome.event.id, entityId: outcome.entityId, status: outcome.status,
                                     errorMessage: outcome.errorMessage)
        finish(outcome.event, root: root, report: report)
    }

    /// Returns true the first time an event hits a constraint error, so it runs again once.
    private func retryAfterConflict(_ eventId: String) -> Bool {
        conflictRetries.withLock { $0.insert(eventId).inserted }
    }

    private func finish(_ event: Event, root: RootKey, report: ExecutionReport?) {
        conflictRetries.withLock { _ = $0.remove(event.id) }
        let waiters = queue.finish(event, root: root)
        for waiter in waiters {
            waiter.finish(report.map { .processed($0) } ?? .timedOut(eventId: event.id))
        }
    }
}
