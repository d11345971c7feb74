import Foundation
import Telemetry
import Synchronization

/// Holds the log lines written while the server starts and releases them once it listens,
/// the line that announces the address first. Scripts and tests that start
/// `events-server serve --port 0` can then read the bound port from the first line.
/// Each held line keeps its own timestamp, so the order of events stays visible.
final class StartupLogBuffer: Sendable {
    private struct State {
        var isHolding = true
        var lines: [String] = []
    }

    private let state = Mutex(State())

    /// The output to give `LogSink.shared.configure`.
    var output: @Sendable (String) -> Void {
        { [self] line in write(line) }
    }

    private func write(_ line: String) {
        let isHeld = state.withLock { state -> Bool in
            guard state.isHolding else { return false }
            state.lines.append(line)
            return true
        }
        if !isHeld { StartupLogBuffer.writeToStandardError(line) }
    }

    /// Writes the held lines, those containing `firstMarker` first, and stops holding.
    func release(firstMarker: String) {
        let lines = state.withLock { state -> [String] in
            state.isHolding = false
            defer { state.lines = [] }
            return state.lines
        }
        let first = lines.filter { $0.contains(firstMarker) }
        for line in first + lines.filter({ !$0.contains(firstMarker) }) {
            StartupLogBuffer.writeToStandardError(line)
        }
    }

    static func writeToStandardError(_ line: String) {
        LogSink.writeToStandardError(line)
    }
}
