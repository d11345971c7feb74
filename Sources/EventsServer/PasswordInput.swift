import Foundation
import Telemetry
import Glibc

/// Reads a password from standard input: from a prompt with echo off when it is a terminal,
/// else the first line of what is piped in. Passwords never come from the command line, where
/// other users could read them in the process list and the shell would keep them in its history.
enum PasswordInput {
    struct InputError: Error, CustomStringConvertible {
        let description: String
    }

    /// Returns the password. On a terminal it prompts twice and requires both entries to match.
    static func read(label: String) throws(InputError) -> String {
        let password: String
        if isatty(STDIN_FILENO) == 1 {
            password = try prompt("\(label): ")
            let repeated = try prompt("Repeat \(label.lowercased()): ")
            guard password == repeated else {
                throw InputError(description: "the two entries differ; run the command again")
            }
        } else {
            guard let line = Swift.readLine(strippingNewline: true) else {
                throw InputError(description: "no \(label.lowercased()) on standard input; pipe it in (printf '%s' \"$PASSWORD\" | events-server ...) or run the command in a terminal")
            }
            password = line.hasSuffix("\r") ? String(line.dropLast()) : line
        }
        guard !password.isEmpty else {
            throw InputError(description: "the \(label.lowercased()) is empty; give at least one character")
        }
        return password
    }

    /// Writes `text` to standard error and reads one line from the terminal with echo turned off.
    private static func prompt(_ text: String) throws(InputError) -> String {
        LogSink.writeToStandardError(text)
        var saved = termios()
        let hasTerminalSettings = tcgetattr(STDIN_FILENO, &saved) == 0
        if hasTerminalSettings {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        }
        defer {
            if hasTerminalSettings { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
            LogSink.writeToStandardError("\n")
        }
        guard let line = Swift.readLine(strippingNewline: true) else {
            throw InputError(description: "standard input closed before a line was entered")
        }
        return line
    }
}
