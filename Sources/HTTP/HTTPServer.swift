import Dispatch
import Foundation
import Synchronization
import Telemetry

/// An HTTP/1.1 server: one epoll event-loop thread per configured loop, each with its own
/// `SO_REUSEPORT` listening socket, plus a bounded worker pool for `.blocking` routes.
///
/// Lifecycle: `start()` binds and returns the port. `shutdown()` stops accepting, lets
/// in-flight requests finish until `shutdownDeadline`, closes idle connections and then runs
/// the drain hooks. `waitUntilStopped()` blocks until that has finished.
public final class HTTPServer: Sendable {
    private enum Phase {
        case created
        case running(loops: [EventLoop], finished: DispatchGroup)
        case stopping
        case stopped
    }

    private struct State {
        var phase = Phase.created
        var drainHooks: [@Sendable () -> Void] = []
        var signalWatcherID: Int?
        var port: Int?
    }

    private let shared: ServerShared
    private let state = Mutex(State())
    /// Entered at start and left when shutdown has run the drain hooks.
    private let stopped = DispatchGroup()

    public init(configuration: HTTPServerConfiguration, router: Router, logger: Logger = Logger(label: "http"),
                metrics: MetricsRegistry = .shared) {
        shared = ServerShared(configuration: configuration, router: router, logger: logger, registry: metrics)
    }

    /// The bound port once started, else nil.
    public var port: Int? { state.withLock { $0.port } }

    /// Binds the listening sockets, starts the loops and the worker pool, and returns the port
    /// (the ephemeral one when the configured port is 0).
    @discardableResult
    public func start() throws(HTTPServerError) -> Int {
        let configuration = shared.configuration
        try configuration.validate()
        let alreadyStarted = state.withLock { state -> Bool in
            if case .created = state.phase {
                state.phase = .stopping
                return false
            }
            return true
        }
        if alreadyStarted { throw .alreadyStarted }

        // A peer that closes early must produce EPIPE on send, not kill the process.
        signal(SIGPIPE, SIG_IGN)

        let description = "\(configuration.host):\(configuration.port)"
        let loops: [EventLoop]
        let port: Int
        do {
            (loops, port) = try openLoops(configuration, description: description)
        } catch {
            state.withLock { $0.phase = .created }
            throw error
        }

        shared.workers.start()
        let finished = DispatchGroup()
        for loop in loops {
            finished.enter()
            let thread = Thread {
                loop.run()
                finished.leave()
            }
            thread.name = "http-loop-\(loop.index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        stopped.enter()
        state.withLock { state in
            state.phase = .running(loops: loops, finished: finished)
            state.port = port
        }
        registerGauges()
        if configuration.handlesSignals {
            do {
                try installSignalHandlers()
            } catch {
                shared.logger.warning("SIGTERM and SIGINT will not shut the server down gracefully", [("error", error.description)])
            }
        }

        let shownHost = configuration.host.utf8.contains(UInt8(ascii: ":")) ? "[\(configuration.host)]" : configuration.host
        shared.logger.info("listening on http://\(shownHost):\(port)", [
            ("eventLoops", String(configuration.eventLoopCount)), ("workers", String(configuration.workerThreadCount))])
        return port
    }

    private func openLoops(_ configuration: HTTPServerConfiguration, description: String) throws(HTTPServerError) -> ([EventLoop], Int) {
        let (address, length) = try ListeningSocket.resolve(host: configuration.host, port: configuration.port)
        var loops: [EventLoop] = []
        var descriptors: [Int32] = []
        var port = configuration.port
        do {
            for index in 0..<configuration.eventLoopCount {
                let (fd, boundPort) = try ListeningSocket.open(address: address, length: length, port: port, description: description)
                descriptors.append(fd)
                port = boundPort
                loops.append(try EventLoop(index: index, listenFD: fd, shared: shared))
            }
        } catch {
            // Each loop owns the descriptor it was given; the last one may have none yet.
            for loop in loops { loop.discard() }
            for fd in descriptors.dropFirst(loops.count) { close(fd) }
            throw error
        }
        return (loops, port)
    }

    private func registerGauges() {
        let shared = self.shared
        shared.registry.gauge("http_open_connections", help: "Open HTTP connections.") {
            Double(shared.openConnections.load(ordering: .relaxed))
        }
        shared.registry.gauge("http_worker_queue_length", help: "Blocking requests waiting for a worker thread.") {
            Double(shared.workers.queuedCount)
        }
    }

    private func installSignalHandlers() throws(HTTPServerError) {
        let id = try ShutdownSignalWatcher.shared.register { [weak self] number in
            self?.shared.logger.info("received signal \(number); shutting down")
            self?.shutdown()
        }
        state.withLock { $0.signalWatcherID = id }
    }

    /// Registers a hook that runs once after shutdown has closed every connection (or reached
    /// its deadline), in the order added: the place to flush queues.
    public func addDrainHook(_ hook: @escaping @Sendable () -> Void) {
        state.withLock { $0.drainHooks.append(hook) }
    }

    /// Shuts down gracefully and returns when done: stops accepting, finishes in-flight requests
    /// until `shutdownDeadline` (their responses carry `Connection: close`), closes idle
    /// connections, stops the worker pool, then runs the drain hooks. A second call waits for
    /// the first. Must not be called from an `.inline` handler, which runs on an event loop
    /// that shutdown waits for.
    public func shutdown() {
        let taken = state.withLock { state -> (loops: [EventLoop], finished: DispatchGroup)? in
            switch state.phase {
            case .running(let loops, let finished):
                state.phase = .stopping
                return (loops, finished)
            case .created:
                state.phase = .stopped
                return nil
            case .stopping, .stopped:
                return nil
            }
        }
        guard let (loops, finished) = taken else {
            waitUntilStopped()
            return
        }

        let configuration = shared.configuration
        shared.logger.info("shutting down: no longer accepting connections", [
            ("deadlineSeconds", String(configuration.shutdownDeadline)),
            ("openConnections", String(shared.openConnections.load(ordering: .relaxed)))])
        let deadlineNanoseconds = TimeFormat.monotonicNanoseconds() + UInt64(configuration.shutdownDeadline * 1e9)
        let deadlineMilliseconds = Int64(deadlineNanoseconds / 1_000_000)
        for loop in loops {
            loop.post(.shutdown(deadline: deadlineMilliseconds))
        }
        finished.wait()

        let unfinished = shared.workers.shutdown(deadline: deadlineNanoseconds)
        if unfinished > 0 {
            shared.logger.warning("shutdown deadline passed with blocking requests still queued or running", [("requests", String(unfinished))])
        }
        let (hooks, watcherID) = state.withLock { state in
            let taken = (state.drainHooks, state.signalWatcherID)
            state.signalWatcherID = nil
            return taken
        }
        if let watcherID { ShutdownSignalWatcher.shared.unregister(watcherID) }
        for hook in hooks { hook() }
        shared.logger.info("stopped")
        state.withLock { $0.phase = .stopped }
        stopped.leave()
    }

    /// Blocks until `shutdown()` has finished. Returns at once if the server never started.
    public func waitUntilStopped() {
        stopped.wait()
    }
}
