import Foundation
import Telemetry

/// Messages of the subcommands that are not log lines: errors on standard error, prefixed with
/// the program name as command-line tools do.
enum CommandOutput {
    static func error(_ message: String) {
        LogSink.writeToStandardError("events-server: \(message)\n")
    }

    static func note(_ message: String) {
        LogSink.writeToStandardError("\(message)\n")
    }
}
