import Dispatch
import Foundation
import Synchronization
import Glibc
import Telemetry

/// Turns SIGTERM and SIGINT into one call of a graceful shutdown. A second signal while the
/// shutdown runs ends the process at once with status 130, for an operator who cannot wait.
/// Nothing acknowledged is lost then, because every event acknowledged with a 2xx is already committed.
final class ShutdownSignals {
    private final class Received: Sendable {
        let flag = Atomic<Bool>(false)
    }

    private let sources: [any DispatchSourceSignal]

    /// Installs the handlers. `onFirst` runs once, on a thread of its own, with the signal's name.
    init(logger: Logger, onFirst: @escaping @Sendable (String) -> Void) {
        let queue = DispatchQueue(label: "events-server.signals")
        let received = Received()
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            // The default action would end the process before the dispatch source receives the signal.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                guard !received.flag.exchange(true, ordering: .acquiringAndReleasing) else {
                    logger.warning("second signal during shutdown: exiting now", [("signal", name)])
                    _exit(130)
                }
                logger.info("shutting down", [("signal", name)])
                // The shutdown blocks until the drain ends; running it elsewhere keeps this
                // queue free to receive a second signal meanwhile.
                Thread.detachNewThread { onFirst(name) }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
