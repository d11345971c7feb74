import Foundation
import Synchronization
import Glibc
import HTTP
import Telemetry

/// Turns SIGTERM and SIGINT into one call of a graceful shutdown. A second signal while the
/// shutdown runs ends the process at once with status 130, for an operator who cannot wait.
/// Nothing acknowledged is lost then, because every event acknowledged with a 2xx is already committed.
final class ShutdownSignals {
    private final class Received: Sendable {
        let flag = Atomic<Bool>(false)
    }

    private let registration: Int

    /// Installs the handlers through the HTTP layer's signal watcher, which also catches signals
    /// that the parent process left blocked. `onFirst` runs once, on a thread of its own, with
    /// the signal's name.
    init(logger: Logger, onFirst: @escaping @Sendable (String) -> Void) throws {
        let received = Received()
        registration = try ShutdownSignalWatcher.shared.register { number in
            let name = number == SIGTERM ? "SIGTERM" : "SIGINT"
            guard !received.flag.exchange(true, ordering: .acquiringAndReleasing) else {
                logger.warning("second signal during shutdown: exiting now", [("signal", name)])
                _exit(130)
            }
            logger.info("shutting down", [("signal", name)])
            // The watcher runs each handler on a thread of its own, so the drain may block here
            // while a second signal is still received.
            onFirst(name)
        }
    }

    deinit {
        ShutdownSignalWatcher.shared.unregister(registration)
    }
}
