import Synchronization
import Telemetry

/// The state that the event loops of one server share across threads.
final class ServerShared: Sendable {
    let configuration: HTTPServerConfiguration
    let router: Router
    let logger: Logger
    let registry: MetricsRegistry
    let workers: WorkerPool
    /// Open connections across all loops, checked against `maxConnections`.
    let openConnections = Atomic<Int>(0)
    /// Limits log lines about connection errors that are handled and dropped (resets, EMFILE).
    let connectionErrorLimiter = LogRateLimiter(limit: 10, intervalSeconds: 10)

    init(configuration: HTTPServerConfiguration, router: Router, logger: Logger, registry: MetricsRegistry) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.registry = registry
        workers = WorkerPool(threadCount: configuration.workerThreadCount, queueLimit: configuration.workerQueueLimit)
    }

    /// Logs a swallowed connection error at most `limit` times per interval, with the count
    /// of lines held back since the last one.
    func logConnectionError(_ message: String, _ metadata: [(String, String)]) {
        guard let dropped = connectionErrorLimiter.admit() else { return }
        var extra = metadata
        if dropped > 0 { extra.append(("suppressed", String(dropped))) }
        logger.warning(message, extra)
    }
}
