import EventStore
import EventsAPI
import Foundation
import HTTP
import Telemetry
import Workflow

/// The running server: the parts `serve` starts, in order, and stops in the reverse order.
///
/// Start: credentials, workflows, database, tokens, workflow engine, routes, then the HTTP
/// listener. Stop (on SIGTERM or SIGINT): readiness fails at once, the HTTP server drains
/// in-flight requests, the engine finishes the executions in progress (queued events stay
/// PENDING for the next start), then the database closes after its queued writes commit.
final class ServerRuntime {
    let settings: ServerSettings
    let logger: Logger
    private let readiness = OperationsReadiness()
    private var store: EventStore?
    private var engine: WorkflowEngine?
    private let engineRunning = EngineRunningFlag()
    private var server: HTTPServer?
    private var signals: ShutdownSignals?
    private var dataDirectoryLock: DataDirectoryLock?

    init(settings: ServerSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Starts every part and returns once the server listens. Throws the first failure, with
    /// a message that names the setting or file at fault; parts already started are stopped.
    func start(startupLog: StartupLogBuffer) throws {
        let httpConfiguration = makeHTTPConfiguration()
        try httpConfiguration.validate()

        let credentials = try CredentialCheck(settings: settings)
        let credentialWarnings = try credentials.validate(requireCredentials: settings.requireCredentials)

        let workflowsDirectory = settings.workflowsDir ?? "Config/workflows"
        let workflows = try WorkflowLoader.load(directory: workflowsDirectory)
        for workflow in workflows {
            for warning in workflow.warnings {
                logger.warning("workflow warning", [("file", workflow.file), ("workflow", workflow.name), ("warning", warning)])
            }
        }

        try FileManager.default.createDirectory(atPath: settings.dataDir, withIntermediateDirectories: true)
        dataDirectoryLock = try DataDirectoryLock(dataDirectory: settings.dataDir)
        try PortCheck.requireFree(host: settings.host, port: settings.port)

        let server: HTTPServer
        let port: Int
        do {
            let store = try EventStore(path: settings.databasePath, logger: Logger(label: "store"))
            self.store = store
            let authenticator = Authenticator(users: credentials.directory, store: store,
                                              tokenLifetimeSeconds: settings.tokenLifetime, logger: Logger(label: "auth"))
            try authenticator.loadTokens()

            let engine = WorkflowEngine(store: store, workflows: workflows, configuration: makeEngineConfiguration(),
                                        logger: Logger(label: "workflow"))
            self.engine = engine
            try engine.start()
            engineRunning.set(true)

            addReadinessChecks(store: store, workflowCount: workflows.count, workflowsDirectory: workflowsDirectory)
            OperationsProcessMetrics.register()
            ServerRuntime.registerOldestPendingGauge(store: store)
            ServerRuntime.registerWebhookOutboxGauges(store: store)
            let router = ServerRoutes.makeRouter(ServerRoutes.Components(
                store: store, authenticator: authenticator, engine: engine, readiness: readiness))

            server = HTTPServer(configuration: httpConfiguration, router: router, logger: Logger(label: "http"))
            port = try server.start()
        } catch {
            engineRunning.set(false)
            engine?.stop()
            store?.close()
            throw error
        }
        self.server = server

        // Installed before the listening line is written, so a script that signals the server
        // as soon as it reads the port always gets a graceful shutdown.
        do {
            signals = try ShutdownSignals(logger: logger) { [readiness] _ in
                readiness.beginShutdown()
                server.shutdown()
            }
        } catch {
            server.shutdown()
            engineRunning.set(false)
            engine?.stop()
            store?.close()
            throw error
        }
        startupLog.release(firstMarker: "listening on")

        logger.info("started", [("port", String(port)), ("dataDir", settings.dataDir), ("workflows", String(workflows.count)),
                                ("users", String(credentials.userCount)), ("clients", String(credentials.clientCount))])
        for warning in credentialWarnings {
            logger.warning(warning)
        }
    }

    /// Blocks until a signal has shut the HTTP server down, then closes the database.
    func runUntilStopped() {
        server?.waitUntilStopped()
        engineRunning.set(false)
        engine?.stop()
        store?.close()
        logger.info("database closed; exiting")
    }

    private func makeHTTPConfiguration() -> HTTPServerConfiguration {
        var configuration = HTTPServerConfiguration()
        configuration.host = settings.host
        configuration.port = settings.port
        if settings.eventLoops > 0 { configuration.eventLoopCount = settings.eventLoops }
        configuration.maxConnections = settings.maxConnections
        configuration.maxRequestLineBytes = settings.maxRequestLineBytes
        configuration.maxHeaderBytes = settings.maxHeaderBytes
        configuration.maxHeaderCount = settings.maxHeaderFields
        configuration.maxBodyBytes = settings.maxBodyBytes
        configuration.headerReadTimeout = Double(settings.headerTimeout)
        configuration.bodyReadTimeout = Double(settings.bodyTimeout)
        configuration.keepAliveTimeout = Double(settings.keepAliveTimeout)
        configuration.writeTimeout = Double(settings.writeTimeout)
        configuration.workerThreadCount = settings.workerThreads
        configuration.workerQueueLimit = settings.workerQueueLimit
        configuration.shutdownDeadline = Double(settings.shutdownTimeout)
        configuration.accessLogLevel = LogLevel(name: settings.accessLogLevel) ?? .info
        // ShutdownSignals handles them, so a second signal can end a stuck drain.
        configuration.handlesSignals = false
        return configuration
    }

    private func makeEngineConfiguration() -> WorkflowEngineConfiguration {
        var configuration = WorkflowEngineConfiguration()
        if settings.workflowWorkers > 0 { configuration.workerCount = settings.workflowWorkers }
        configuration.syncTimeoutMilliseconds = settings.syncTimeout * 1000
        configuration.limits = ExecutionLimits(maxInlineEvents: settings.maxInlineEvents, maxChainDepth: settings.maxChainDepth)
        configuration.webhooks.maxAttempts = settings.webhookAttempts
        configuration.executionPacing = settings.executionPacing
        configuration.executionShareUnderLoad = Double(settings.pacedExecutionShare) / 1000
        configuration.deferredBacklogLimit = settings.pacingBacklogLimit
        configuration.pacingMinimumRequestRate = settings.pacingMinimumRate
        configuration.queueMemoryLimit = settings.queueMemoryLimit
        return configuration
    }

    private func addReadinessChecks(store: EventStore, workflowCount: Int, workflowsDirectory: String) {
        readiness.add(OperationsReadiness.Check(name: "database") {
            ServerRuntime.probeWriter(store, timeoutSeconds: 2)
        })
        readiness.add(OperationsReadiness.Check(name: "workflows") {
            workflowCount > 0 ? nil : "no workflow loaded from \(workflowsDirectory)"
        })
        let engineRunning = self.engineRunning
        readiness.add(OperationsReadiness.Check(name: "queue") {
            engineRunning.get() ? nil : "the workflow engine is not running"
        })
    }

    /// Registers `workflow_webhook_outbox{state}` for the webhooks still being retried (PENDING)
    /// and those that ran out of attempts (FAILED). Together with the engine's attempt counters
    /// they give deliveries by outcome. DELIVERED rows are left out: they only grow, so counting
    /// them on each scrape would get slower over time.
    static func registerWebhookOutboxGauges(store: EventStore) {
        for state in [OutboxWebhook.State.pending, .failed] {
            MetricsRegistry.shared.gauge("workflow_webhook_outbox", help: "Webhooks in the outbox by state: PENDING are retried, FAILED ran out of attempts",
                                         labels: [("state", state.rawValue)]) {
                let count = try? store.read { connection in
                    try connection.scalarInteger("SELECT count(*) FROM webhook_outbox WHERE state = ?", [.text(state.rawValue)])
                }
                return Double(count.flatMap { $0 } ?? 0)
            }
        }
    }

    /// Registers `workflow_oldest_pending_age_seconds`: the age of the oldest PENDING event,
    /// 0 when none waits. One lookup on the `(event_status, generated_on, id)` index per scrape;
    /// audits are never PENDING, and the index holds only other events.
    static func registerOldestPendingGauge(store: EventStore) {
        MetricsRegistry.shared.gauge("workflow_oldest_pending_age_seconds",
                                     help: "Age of the oldest PENDING event, in seconds; 0 when none waits") {
            let oldest = try? store.read { connection in
                try connection.scalarInteger(
                    "SELECT min(generated_on) FROM events INDEXED BY events_by_status WHERE event_status = ? AND \(AuditIndexSchema.excludesAudits)",
                    [.text(EventStatus.pending)])
            }
            guard let milliseconds = oldest else { return 0 }
            return max(0, Double(TimeFormat.nowMilliseconds() - milliseconds) / 1000)
        }
    }

    /// Runs a no-op through the database writer: it succeeds only when the writer thread runs
    /// and can begin a write transaction, which is what "database writable" means here.
    static func probeWriter(_ store: EventStore, timeoutSeconds: Int) -> String? {
        let done = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        store.writer.submit({ connection in
            try connection.scalarInteger("SELECT count(*) FROM sqlite_schema") ?? 0
        }, completion: { result in
            if case .failure(let error) = result { outcome.set("\(error)") }
            done.signal()
        })
        guard done.wait(timeout: .now() + .seconds(timeoutSeconds)) == .success else {
            return "the database writer did not respond within \(timeoutSeconds) s"
        }
        return outcome.get()
    }
}
