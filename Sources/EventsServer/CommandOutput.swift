import Foundation

/// Messages of the subcommands that are not log lines: errors on standard error, prefixed with
/// the program name as command-line tools do.
enum CommandOutput {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("events-server: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }
}
