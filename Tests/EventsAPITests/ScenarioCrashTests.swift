import EventStore
import Foundation
import Glibc
import JSON
import Synchronization
import Testing

/// `kill -9` of a real `events-server serve` process while events are posted, then a restart
/// on the same data directory (a Python queue library lost acknowledged items this way).
@Suite struct ScenarioCrashTests {
    static let eventCount = 200
    static let killAfter = 100

    @Test func killDuringPostsLosesNothing() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json")
        let arguments = ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                         "--config", CLIProcess.repositoryRoot + "/Config", "--access-log-level", "debug"]

        let first = try ServerProcess(arguments: arguments)
        // Ends the first server even when the test stops before it is killed.
        defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL) } }
        let firstToken = try RestartChecks.token(port: first.port)
        let acknowledged = Mutex<[String]>([])
        let killed = Atomic<Bool>(false)
        let port = first.port
        let pid = first.process.processIdentifier
        DispatchQueue.concurrentPerform(iterations: 4) { connection in
            guard let client = try? TestHTTPClient(port: port) else { return }
            for index in 0..<(Self.eventCount / 4) {
                let position = "P-\((connection * 50 + index) % 10)"
                let body = ScenarioTests.delta(ref: position, delta: 1, root: "CAT-\(position)")
                guard let response = try? client.request("POST", "/api/v4.1/event/async", headers: [
                    ("Authorization", "Bearer \(firstToken)"), ("Content-Type", "application/json"),
                ], body: Array(body.utf8)) else { return }
                if response.status == 200, let id = try? response.json()["eventId"]?.stringValue {
                    let count = acknowledged.withLock { ids -> Int in
                        ids.append(id)
                        return ids.count
                    }
                    if count == Self.killAfter, !killed.exchange(true, ordering: .relaxed) {
                        kill(pid, SIGKILL)
                    }
                }
            }
        }
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .uncaughtSignal)
        let acked = acknowledged.withLock { $0 }
        #expect(acked.count >= Self.killAfter)

        let second = try ServerProcess(arguments: arguments)
        defer { _ = try? second.stop() }
        let token = try RestartChecks.token(port: second.port)

        // Every acknowledged event is stored and processed after the restart.
        try RestartChecks.expectProcessed(acked, port: second.port, token: token)

        // Exactly one execution each: one snapshot audit per stored event, whether or not its
        // 2xx reached the client before the kill, and every position has the sum of its deltas.
        let events = try RestartChecks.expectEachExecutedOnce(port: second.port, token: token)
        #expect(events.count >= acked.count)
        #expect(events.count <= Self.eventCount)
    }
}
