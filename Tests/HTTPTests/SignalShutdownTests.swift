import Foundation
import Glibc
import Testing

/// SIGTERM and SIGINT shut a server process down gracefully, whichever thread receives them.
@Suite struct SignalShutdownTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func signalStopsServerProcess(_ number: Int32) throws {
        let binary = try #require(DescriptorLimitTests.benchServerPath(), "build http-bench-server (swift build --build-tests builds it)")
        for attempt in 0..<5 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["0"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let firstLine = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            let port = try #require(firstLine.split(separator: ":").last?.split(separator: ",").first.flatMap { Int($0) })

            let idle = try RawClient(port: port)
            idle.send(request(["GET /api/v4.1/event/x HTTP/1.1", "Host: a"]))
            #expect(try idle.readResponse()?.status == 200)

            kill(process.processIdentifier, number)
            #expect(idle.waitForClose(timeout: 3), "attempt \(attempt): the idle connection was not closed")
            let deadline = RawClient.now() + 5
            while process.isRunning && RawClient.now() < deadline { usleep(10_000) }
            #expect(!process.isRunning, "attempt \(attempt): signal \(number) did not stop the server")
            if process.isRunning {
                process.interrupt()
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
    }
}
