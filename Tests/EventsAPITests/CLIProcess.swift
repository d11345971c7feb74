import EventsAPI
import Foundation
import Glibc
import Synchronization

/// Runs the built `events-server` executable as a subprocess, as an operator or a script would.
enum CLIProcess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The output of a finished run.
    struct Output {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// The repository root, from this file's path.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Returns the executable beside the test bundle in the build products directory.
    /// `swift build --build-tests` (run by scripts/test.sh) builds it with the tests.
    static func binaryPath() throws -> String {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On Linux the test runner is `<products>/events-serverPackageTests.xctest`.
        if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
        let path = directory.appendingPathComponent("events-server").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failure(description: "events-server not found at \(path): build it with `swift build --build-tests` before `swift test --skip-build`")
        }
        return path
    }

    /// Returns the environment for a child: this process's, without any EVENTS_* variable, plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EVENTS_") }
        environment.merge(extra) { _, new in new }
        return environment
    }

    /// Runs `events-server arguments...` to completion within `timeoutSeconds`.
    static func run(_ arguments: [String], standardInput: String? = nil, environment extra: [String: String] = [:],
                    directory: String? = nil, timeoutSeconds: Double = 30) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binaryPath())
        process.arguments = arguments
        process.environment = environment(extra)
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()

        // A child that exits before reading its input closes the pipe; the throwing write reports
        // EPIPE instead of trapping, and the test then checks the child's exit status.
        if let standardInput { try? input.fileHandleForWriting.write(contentsOf: Data(standardInput.utf8)) }
        try input.fileHandleForWriting.close()
        let outputReader = PipeReader(output.fileHandleForReading)
        let errorReader = PipeReader(errors.fileHandleForReading)

        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            throw Failure(description: "events-server \(arguments.joined(separator: " ")) did not finish within \(timeoutSeconds) s")
        }
        process.waitUntilExit()
        return Output(status: process.terminationStatus, standardOutput: outputReader.finish(),
                      standardError: errorReader.finish())
    }

    /// Writes a users file with the given users and clients (password = secret = name), hashed
    /// with few PBKDF2 iterations so tests stay fast.
    static func writeUsersFile(at path: String, users: [String] = ["demo"], clients: [String] = ["demo"]) throws {
        func hash(_ text: String) -> String { PasswordHash.make(password: text, iterations: 1000) }
        let userEntries = users.map { "{\"username\": \"\($0)\", \"passwordHash\": \"\(hash($0))\"}" }
        let clientEntries = clients.map { "{\"clientId\": \"\($0)\", \"secretHash\": \"\(hash($0))\"}" }
        let text = "{\"accountId\": \"ACME\", \"users\": [\(userEntries.joined(separator: ","))], \"clients\": [\(clientEntries.joined(separator: ","))]}"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Creates a new empty directory under the system temporary directory and returns its path.
    static func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "cli-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Collects everything a pipe delivers on a background thread.
final class PipeReader: Sendable {
    private let text = Mutex("")
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                text.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
            done.signal()
        }
    }

    /// Everything read so far.
    var current: String { text.withLock { $0 } }

    /// Waits for the end of the stream (at most 5 s) and returns everything read.
    func finish() -> String {
        // Signal again after a successful wait, so a second call returns at once too.
        if done.wait(timeout: .now() + 5) == .success { done.signal() }
        return current
    }
}

/// `events-server serve` running as a subprocess on 127.0.0.1 with an ephemeral port.
final class ServerProcess {
    let process = Process()
    let port: Int
    let firstLine: String
    private let errorReader: PipeReader

    /// Starts `serve --host 127.0.0.1 --port 0` plus `arguments`, and waits (at most 20 s) for
    /// the line that announces the bound port.
    init(arguments: [String], environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: try CLIProcess.binaryPath())
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0"] + arguments
        process.environment = CLIProcess.environment(extra)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Only the child may keep the write end open, or the reader never sees the end of the stream.
        try? errors.fileHandleForWriting.close()
        errorReader = PipeReader(errors.fileHandleForReading)

        let deadline = Date().addingTimeInterval(20)
        var found: (line: String, port: Int)?
        while found == nil && Date() < deadline && process.isRunning {
            found = ServerProcess.listeningLine(in: errorReader.current)
            if found == nil { usleep(10_000) }
        }
        found = found ?? ServerProcess.listeningLine(in: errorReader.current)
        guard let found else {
            if process.isRunning { process.terminate() }
            throw CLIProcess.Failure(description: "serve did not announce its port; standard error:\n\(errorReader.current)")
        }
        firstLine = found.line
        port = found.port
    }

    /// Standard error so far.
    var log: String { errorReader.current }

    /// Sends `signal` (SIGTERM unless given) and waits (at most 20 s) for the exit. Returns the
    /// exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) throws -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            throw CLIProcess.Failure(description: "serve did not exit within 20 s of signal \(signal)")
        }
        process.waitUntilExit()
        _ = errorReader.finish()
        return process.terminationStatus
    }

    /// Returns the first line of `text` and its port when the line is complete and contains
    /// `listening on http://...:PORT`.
    static func listeningLine(in text: String) -> (line: String, port: Int)? {
        guard let newline = text.firstIndex(of: "\n") else { return nil }
        let line = String(text[..<newline])
        guard let range = line.range(of: "listening on http://") else { return nil }
        let address = line[range.upperBound...].prefix { !$0.isWhitespace && $0 != "\"" }
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        return (line, port)
    }
}
