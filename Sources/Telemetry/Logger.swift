import Foundation
import Glibc
import Synchronization

/// Severity of a log line, from the most verbose to the most severe.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical

    public var name: String {
        switch self {
        case .trace: return "trace"
        case .debug: return "debug"
        case .info: return "info"
        case .notice: return "notice"
        case .warning: return "warning"
        case .error: return "error"
        case .critical: return "critical"
        }
    }

    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = level
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Format of log lines: logfmt (`key=value` pairs) or one JSON object per line.
public enum LogFormat: String, Sendable, CaseIterable {
    case logfmt
    case json
}

/// Where log lines go and which are kept. Set once at start with `LogSink.shared.configure`.
public final class LogSink: Sendable {
    public static let shared = LogSink()

    struct Settings {
        var level: LogLevel = .info
        var format: LogFormat = .logfmt
        var output: @Sendable (String) -> Void = { line in
            LogSink.writeToStandardError(line)
        }
    }

    private let settings = Mutex(Settings())
    private let minimumLevel = Atomic<Int>(LogLevel.info.rawValue)

    /// Sets the minimum level, the format and, for tests, a replacement for standard error.
    public func configure(level: LogLevel, format: LogFormat, output: (@Sendable (String) -> Void)? = nil) {
        settings.withLock { settings in
            settings.level = level
            settings.format = format
            if let output { settings.output = output }
        }
        minimumLevel.store(level.rawValue, ordering: .relaxed)
    }

    func isEnabled(_ level: LogLevel) -> Bool {
        level.rawValue >= minimumLevel.load(ordering: .relaxed)
    }

    func emit(level: LogLevel, label: String, message: String, metadata: [(String, String)]) {
        let (format, output) = settings.withLock { ($0.format, $0.output) }
        let timestamp = TimeFormat.iso8601(milliseconds: TimeFormat.nowMilliseconds())
        let line: String
        switch format {
        case .logfmt:
            var text = "time=\(timestamp) level=\(level.name) logger=\(label) msg=\(LogSink.logfmtValue(message))"
            for (key, value) in metadata {
                text += " \(key)=\(LogSink.logfmtValue(value))"
            }
            line = text + "\n"
        case .json:
            var text = "{\"time\":\"\(timestamp)\",\"level\":\"\(level.name)\",\"logger\":\(LogSink.jsonString(label)),\"msg\":\(LogSink.jsonString(message))"
            for (key, value) in metadata {
                text += ",\(LogSink.jsonString(key)):\(LogSink.jsonString(value))"
            }
            line = text + "}\n"
        }
        output(line)
    }

    /// Writes `line` to file descriptor 2 with write(2), retrying on EINTR and short writes.
    /// A closed or broken standard error drops the line: logging must never stop the server,
    /// and FileHandle's non-throwing write traps on EPIPE.
    public static func writeToStandardError(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// Returns `value` bare when it has no space, `=`, quote or control character, else quoted
    /// with the same escapes as a JSON string, which logfmt parsers read.
    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\"") || $0 == 0x7F }
        return needsQuotes ? jsonString(value) : value
    }

    static func jsonString(_ value: String) -> String {
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }
}

/// A structured logger: a label for the component and metadata (request id, event id, ...)
/// written as key=value pairs on every line. Never put a password, secret or token in either.
public struct Logger: Sendable {
    public let label: String
    public private(set) var metadata: [(String, String)]

    public init(label: String, metadata: [(String, String)] = []) {
        self.label = label
        self.metadata = metadata
    }

    /// Returns a logger that adds `value` under `key` to every line.
    public func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy.metadata.removeAll { $0.0 == key }
        copy.metadata.append((key, value))
        return copy
    }

    public func isEnabled(_ level: LogLevel) -> Bool {
        LogSink.shared.isEnabled(level)
    }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ extra: [(String, String)] = []) {
        guard LogSink.shared.isEnabled(level) else { return }
        LogSink.shared.emit(level: level, label: label, message: message(), metadata: metadata + extra)
    }

    public func trace(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.trace, message(), extra) }
    public func debug(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.debug, message(), extra) }
    public func info(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.info, message(), extra) }
    public func notice(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.notice, message(), extra) }
    public func warning(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.warning, message(), extra) }
    public func error(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.error, message(), extra) }
}

/// Lets through at most `limit` lines per `interval` seconds for one kind of repeated error,
/// and counts the ones it held back so the next line can report them.
public final class LogRateLimiter: Sendable {
    private struct State {
        var windowStart: Int64 = 0
        var emitted = 0
        var suppressed = 0
    }

    private let limit: Int
    private let intervalMilliseconds: Int64
    private let state = Mutex(State())

    public init(limit: Int = 10, intervalSeconds: Int = 10) {
        self.limit = limit
        self.intervalMilliseconds = Int64(intervalSeconds) * 1000
    }

    /// Returns nil when the line must be dropped, or the number of lines dropped since the last one let through.
    public func admit(now: Int64 = TimeFormat.nowMilliseconds()) -> Int? {
        state.withLock { state in
            if now - state.windowStart >= intervalMilliseconds {
                state.windowStart = now
                state.emitted = 0
            }
            guard state.emitted < limit else {
                state.suppressed += 1
                return nil
            }
            state.emitted += 1
            let dropped = state.suppressed
            state.suppressed = 0
            return dropped
        }
    }
}
