import Foundation
import Glibc
import Testing

/// Running out of file descriptors, in a child process with a low `ulimit -n` so the test
/// process keeps its own limit: `accept` fails with EMFILE, the server backs off and logs it,
/// and the waiting clients are served once descriptors are free again.
@Suite struct DescriptorLimitTests {
    /// The `http-bench-server` executable, built next to the test bundle.
    static func benchServerPath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4_096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let executable = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let path = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("http-bench-server").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    @Test func acceptBacksOffOnEMFILE() throws {
        let binary = try #require(DescriptorLimitTests.benchServerPath(), "build http-bench-server (swift build --build-tests builds it)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -n 48 && exec \"$0\" 0", binary]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }

        let firstLine = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let portText = try #require(firstLine.split(separator: ":").last?.split(separator: ",").first)
        let port = try #require(Int(portText), "no port in \(firstLine)")

        // Keep-alive clients take every descriptor the server has; the rest wait to be accepted.
        let path = "/api/v4.1/event/0190f1a2-7b3c-7d4e-8f00-112233445566"
        var holding: [RawClient] = []
        var waiting: [RawClient] = []
        for index in 0..<40 {
            let client = try RawClient(port: port)
            client.send(request(["GET \(path) HTTP/1.1", "Host: a"]))
            let response = try? client.readResponse(timeout: index == 0 ? 3 : 0.3)
            if response?.status == 200 { holding.append(client) } else { waiting.append(client) }
        }
        #expect(holding.count >= 20)
        #expect(!waiting.isEmpty, "the descriptor limit did not stop accepts")
        for _ in 0..<10 {
            let client = try RawClient(port: port)
            client.send(request(["GET \(path) HTTP/1.1", "Host: a", "Connection: close"]))
            waiting.append(client)
        }
        #expect(waiting.last?.staysQuiet(for: 0.3) == true)

        // Closing the holders frees descriptors, and every waiting client gets its answer.
        holding.removeAll()
        var lateAnswers = 0
        for client in waiting {
            if let response = try? client.readResponse(timeout: 5), response.status == 200 { lateAnswers += 1 }
        }
        #expect(lateAnswers == waiting.count)
        waiting.removeAll()

        process.terminate()
        process.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("accept failed; pausing accepts"))
        #expect(log.contains("Too many open files") || log.contains("EMFILE"))
    }
}
