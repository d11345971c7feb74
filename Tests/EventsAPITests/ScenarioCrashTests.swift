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

    private func token(port: Int) throws -> String {
        let response = try TestHTTPClient(port: port).request(
            "POST", "/oauth/token?username=demo&password=demo&client_id=demo&client_secret=demo&grant_type=password&scope=api")
        guard response.status == 200, let token = try response.json()["access_token"]?.stringValue else {
            throw TestClientError("token request failed: \(response.status) \(response.text)")
        }
        return token
    }

    private func get(_ target: String, port: Int, token: String) throws -> JSONValue {
        let response = try TestHTTPClient(port: port).request("GET", target, headers: [("Authorization", "Bearer \(token)")])
        guard response.status == 200 else { throw TestClientError("GET \(target) returned \(response.status): \(response.text)") }
        return try response.json()
    }

    @Test func killDuringPostsLosesNothing() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json")
        let arguments = ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                         "--config", CLIProcess.repositoryRoot + "/Config", "--access-log-level", "debug"]

        let first = try ServerProcess(arguments: arguments)
        // Ends the first server even when the test stops before it is killed.
        defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL) } }
        let firstToken = try token(port: first.port)
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
        let token = try token(port: second.port)

        // Every acknowledged event is stored and processed after the restart.
        let deadline = Date().addingTimeInterval(30)
        for id in acked {
            var status = ""
            while Date() < deadline {
                status = try get("/api/v4.1/event/\(id)", port: second.port, token: token)["eventStatus"]?.stringValue ?? ""
                if status != EventStatus.pending { break }
                usleep(10_000)
            }
            #expect(status == EventStatus.complete, "\(id)")
        }

        // Exactly one execution each: one snapshot audit per stored event, whether or not its
        // 2xx reached the client before the kill, and every position has the sum of its deltas.
        let stored = try get("/api/v4.1/event?name=InventoryDelta&eventType=ORCHESTRATION&count=5000", port: second.port, token: token)
        let events = stored["results"]?.arrayValue ?? []
        #expect(events.count >= acked.count)
        #expect(events.count <= Self.eventCount)
        let snapshots = try get("/api/v4.1/event?category=snapshot&count=5000", port: second.port, token: token)
        var snapshotCount: [String: Int] = [:]
        for audit in snapshots["results"]?.arrayValue ?? [] {
            if let source = audit["context"]?["sourceEvents"]?.arrayValue?.first?.stringValue {
                snapshotCount[source, default: 0] += 1
            }
        }
        var expectedOnHand: [String: Int64] = [:]
        for event in events {
            let id = event["id"]?.stringValue ?? ""
            #expect(event["eventStatus"] == "COMPLETE", "\(id)")
            #expect(snapshotCount[id] == 1, "\(id)")
            expectedOnHand[event["context"]?["entityRef"]?.stringValue ?? "", default: 0] += 1
        }
        for (position, sum) in expectedOnHand {
            let entity = try get("/api/v4.1/entity/INVENTORY_POSITION/\(position)?retailerId=1", port: second.port, token: token)
            #expect(entity["attributes"]?["onHand"]?.integerValue == sum, "\(position)")
        }
    }
}
