import CSystem
import Foundation
import Synchronization

/// Turns SIGTERM and SIGINT into calls of registered closures. A C handler writes the signal
/// number to a pipe and one thread reads it. The signals are unblocked first: a server started
/// by Foundation's `Process` inherited them blocked, and a dispatch signal source then never
/// fired (seen with Swift 6.3.1 on Linux).
public final class ShutdownSignalWatcher: Sendable {
    public static let shared = ShutdownSignalWatcher()

    private struct State {
        var threadStarted = false
        var nextID = 0
        var byID: [Int: @Sendable (Int32) -> Void] = [:]
    }

    private static let signals: [Int32] = [SIGTERM, SIGINT]
    private let state = Mutex(State())

    /// Registers `handler` and returns an id for `unregister`. Each signal calls every handler
    /// on a thread of its own. Throws when the signal handler could not be installed.
    public func register(_ handler: @escaping @Sendable (Int32) -> Void) throws(HTTPServerError) -> Int {
        try state.withLock { state throws(HTTPServerError) -> Int in
            if state.byID.isEmpty {
                let fd = ShutdownSignalWatcher.signals.withUnsafeBufferPointer { cs_signal_pipe_install($0.baseAddress, Int32($0.count)) }
                guard fd >= 0 else { throw .system(call: "sigaction", address: "SIGTERM and SIGINT", errno: errno) }
                if !state.threadStarted {
                    state.threadStarted = true
                    let thread = Thread { [self] in watch(fd) }
                    thread.name = "http-signals"
                    thread.start()
                }
            }
            let id = state.nextID
            state.nextID += 1
            state.byID[id] = handler
            return id
        }
    }

    /// Removes a handler. When none is left, SIGTERM and SIGINT get their default action back,
    /// so they end the process again.
    public func unregister(_ id: Int) {
        state.withLock { state in
            state.byID.removeValue(forKey: id)
            if state.byID.isEmpty {
                for number in ShutdownSignalWatcher.signals { signal(number, SIG_DFL) }
            }
        }
    }

    private func watch(_ fd: Int32) {
        // This thread stays able to receive the signals even if every other thread blocks them.
        _ = ShutdownSignalWatcher.signals.withUnsafeBufferPointer { cs_signal_unblock($0.baseAddress, Int32($0.count)) }
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return }
            let number = Int32(byte)
            let current = state.withLock { Array($0.byID.values) }
            if current.isEmpty {
                // The last server stopped between the signal and this read: apply the default action.
                signal(number, SIG_DFL)
                raise(number)
            }
            for handler in current {
                Thread.detachNewThread { handler(number) }
            }
        }
    }
}
