import Synchronization

/// The conditions `GET /ready` checks: each a named probe that returns nil when its part of the
/// server is ready, or the reason it is not. The server wires one probe per part (database
/// writable, workflows loaded, queue running), so this type depends on none of them.
public final class OperationsReadiness: Sendable {
    /// One named condition.
    public struct Check: Sendable {
        public let name: String
        /// Returns nil when ready, else a short reason. Runs on a worker thread and may block
        /// briefly, so it must bound its own wait.
        public let probe: @Sendable () -> String?

        public init(name: String, probe: @escaping @Sendable () -> String?) {
            self.name = name
            self.probe = probe
        }
    }

    /// The outcome of one check.
    public struct Result: Sendable, Equatable {
        public let name: String
        /// nil when the check passed.
        public let failure: String?
    }

    private let checks: Mutex<[Check]>
    private let isShuttingDown = Atomic<Bool>(false)

    public init(checks: [Check] = []) {
        self.checks = Mutex(checks)
    }

    /// Adds a check, for parts that start after the routes are registered.
    public func add(_ check: Check) {
        checks.withLock { $0.append(check) }
    }

    /// Makes every later evaluation fail, so load balancers stop sending requests while the
    /// server drains.
    public func beginShutdown() {
        isShuttingDown.store(true, ordering: .releasing)
    }

    /// Runs every check in order. Once shutdown has begun, a `shutdown` result fails first.
    public func evaluate() -> [Result] {
        var results: [Result] = []
        if isShuttingDown.load(ordering: .acquiring) {
            results.append(Result(name: "shutdown", failure: "the server is shutting down"))
        }
        for check in checks.withLock({ $0 }) {
            results.append(Result(name: check.name, failure: check.probe()))
        }
        return results
    }
}
