import EventStore
import Foundation
import Glibc
import JSON
import Synchronization
import Testing

/// `kill -9` of a real `events-server serve` while its workflow queue is spilled (accepted
/// events wait PENDING in the database) and executions are paced, then restarts on the same
/// data directory. Every acknowledged event must be processed exactly once, and the events of
/// one root in the order they were accepted.
@Suite struct SpillKillTests {
    /// More connections than the pacing threshold of 16 waiting requests, so executions are paced.
    static let connectionCount = 20
    static let postsPerConnection = 100
    static let rootCount = 8
    /// Acknowledged events after which the server is killed, once its queue is spilled.
    static let killAfter = 600

    /// One acknowledged request: which connection sent it, in which turn, for which root.
    struct Acknowledged: Sendable {
        var id: String
        var connection: Int
        var turn: Int
        var root: String
        var position: String
    }

    /// A request sent with an `Idempotency-Key` whose response never arrived.
    struct Unanswered: Sendable {
        var key: String
        var body: String
        var connection: Int
        var turn: Int
        var root: String
        var position: String
    }

    /// Whether the last spill line in the server's log reports the queue as spilled.
    private static func isSpilled(_ log: String) -> Bool {
        guard let full = log.range(of: "the queue is full", options: .backwards) else { return false }
        guard let drained = log.range(of: "every event left in the database is queued again", options: .backwards) else { return true }
        return full.lowerBound > drained.lowerBound
    }

    /// Returns the event id of an acknowledging response: 200 from either route, or the 504 of
    /// a sync request whose event was stored and runs later.
    private static func acknowledgedId(_ response: TestResponse) -> String? {
        if response.status == 200, let id = try? response.json()["eventId"]?.stringValue {
            return id
        }
        if response.status == 504, let location = response.header("Location") {
            return location.split(separator: "/").last.map(String.init)
        }
        return nil
    }

    @Test func killWhileSpilledLosesNothing() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json")
        // One worker, the smallest queue and the smallest paced share: the queue spills at once.
        let arguments = ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                         "--config", CLIProcess.repositoryRoot + "/Config", "--queue-memory-limit", "100",
                         "--execution-pacing=true", "--paced-execution-share", "1", "--workflow-workers", "1",
                         "--sync-timeout", "1"]

        let first = try ServerProcess(arguments: arguments)
        defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL) } }
        let firstToken = try RestartChecks.token(port: first.port)
        let port = first.port
        let pid = first.process.processIdentifier

        let acknowledged = Mutex<[Acknowledged]>([])
        let unanswered = Mutex<[Unanswered]>([])
        let killed = Atomic<Bool>(false)
        let replayMismatches = Mutex<[String]>([])

        let senders = DispatchGroup()
        for connection in 0..<Self.connectionCount {
            senders.enter()
            Thread.detachNewThread {
                defer { senders.leave() }
                guard let client = try? TestHTTPClient(port: port, timeoutSeconds: 10) else { return }
                let authorization = ("Authorization", "Bearer \(firstToken)")
                for turn in 0..<Self.postsPerConnection {
                    let root = "R\((connection * 3 + turn) % Self.rootCount)"
                    let position = "P-\(root)-\(turn % 3)"
                    let body = ScenarioTests.delta(ref: position, delta: 1, root: root)
                    // A few connections send sync requests, which wait for their execution. The
                    // others keep the writer busy with async ones, a quarter of them under a key.
                    let isSync = connection < 4 && turn % 5 == 4
                    let key: String? = turn % 4 == 1 ? "spill-\(connection)-\(turn)" : nil
                    var headers = [authorization, ("Content-Type", "application/json")]
                    if let key { headers.append(("Idempotency-Key", key)) }
                    let target = isSync ? "/api/v4.1/event/sync" : "/api/v4.1/event/async"

                    guard let response = try? client.request("POST", target, headers: headers, body: Array(body.utf8)),
                          let id = Self.acknowledgedId(response) else {
                        if let key, !isSync {
                            unanswered.withLock {
                                $0.append(Unanswered(key: key, body: body, connection: connection, turn: turn, root: root, position: position))
                            }
                        }
                        return
                    }
                    acknowledged.withLock {
                        $0.append(Acknowledged(id: id, connection: connection, turn: turn, root: root, position: position))
                    }
                    // A client retry after a lost response: the key returns the same event.
                    if let key, !isSync,
                       let retry = try? client.request("POST", target, headers: headers, body: Array(body.utf8)),
                       retry.status == 200, let again = try? retry.json()["eventId"]?.stringValue, again != id {
                        replayMismatches.withLock { $0.append("\(key): \(id) then \(again)") }
                    }
                }
            }
        }
        // Watches the log for the spill, and kills the server once its queue is spilled and
        // enough events were acknowledged, or at the latest when every connection is done.
        var wasSpilled = false
        while senders.wait(timeout: .now() + .milliseconds(2)) == .timedOut {
            guard !killed.load(ordering: .relaxed) else { continue }
            if Self.isSpilled(first.log) { wasSpilled = true } else { continue }
            if acknowledged.withLock({ $0.count }) >= Self.killAfter, !killed.exchange(true, ordering: .relaxed) {
                kill(pid, SIGKILL)
            }
        }
        if !killed.exchange(true, ordering: .relaxed) {
            kill(pid, SIGKILL)
        }
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .uncaughtSignal)
        #expect(wasSpilled, "the queue never spilled before the kill")
        #expect(replayMismatches.withLock { $0 }.isEmpty, "\(replayMismatches.withLock { $0 })")
        var acked = acknowledged.withLock { $0 }
        #expect(acked.count >= Self.killAfter)

        // The restart reads the PENDING backlog back a part at a time: kill it again while it
        // drains, once some of the backlog ran and some did not.
        let draining = try ServerProcess(arguments: arguments)
        defer { if draining.process.isRunning { kill(draining.process.processIdentifier, SIGKILL) } }
        let drainingToken = try RestartChecks.token(port: draining.port)
        let pendingQuery = "/api/v4.1/event?name=InventoryDelta&eventStatus=PENDING&count=5000"
        let backlog = try RestartChecks.get(pendingQuery, port: draining.port, token: drainingToken)["results"]?.arrayValue?.count ?? 0
        let drainDeadline = Date().addingTimeInterval(10)
        while Date() < drainDeadline {
            let left = try RestartChecks.get(pendingQuery, port: draining.port, token: drainingToken)["results"]?.arrayValue?.count ?? 0
            if left < backlog || left == 0 { break }
            usleep(1_000)
        }
        kill(draining.process.processIdentifier, SIGKILL)
        draining.process.waitUntilExit()
        #expect(backlog > 0, "the first server left no backlog")

        let second = try ServerProcess(arguments: arguments)
        defer { _ = try? second.stop() }
        let token = try RestartChecks.token(port: second.port)

        // Retries of the keyed requests whose response the kill cut off: each stored at most once.
        let retryClient = try TestHTTPClient(port: second.port)
        for request in unanswered.withLock({ $0 }) {
            let response = try retryClient.request("POST", "/api/v4.1/event/async", headers: [
                ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"), ("Idempotency-Key", request.key),
            ], body: Array(request.body.utf8))
            let id = try #require(Self.acknowledgedId(response), "retry of \(request.key): \(response.status) \(response.text)")
            acked.append(Acknowledged(id: id, connection: request.connection, turn: request.turn, root: request.root,
                                      position: request.position))
        }

        // Every acknowledged event is processed after the restart.
        try RestartChecks.expectProcessed(acked.map(\.id), port: second.port, token: token)

        // Exactly one execution each: one snapshot audit per stored event, acknowledged or not,
        // and every position has the sum of its stored deltas.
        #expect(Set(acked.map(\.id)).count == acked.count, "an acknowledged id was returned twice")
        let events = try RestartChecks.expectEachExecutedOnce(port: second.port, token: token)
        #expect(events.count >= acked.count)
        #expect(events.count <= Self.connectionCount * Self.postsPerConnection)
        var executionOrder: [String: [(snapshotId: String, eventId: String)]] = [:]
        for snapshot in try RestartChecks.snapshots(port: second.port, token: token) {
            let root = String(snapshot.entityRef.split(separator: "-")[1])
            executionOrder[root, default: []].append((snapshot.id, snapshot.source))
        }

        // Per root, each connection's events executed in the order it sent them, because a
        // connection sends its next request only after the response to the previous one.
        for (root, executions) in executionOrder {
            let position = Dictionary(uniqueKeysWithValues: executions.sorted { $0.snapshotId < $1.snapshotId }
                .enumerated().map { ($0.element.eventId, $0.offset) })
            for connection in 0..<Self.connectionCount {
                let sent = acked.filter { $0.root == root && $0.connection == connection }.sorted { $0.turn < $1.turn }
                let executed = sent.compactMap { position[$0.id] }
                #expect(executed.count == sent.count, "root \(root), connection \(connection)")
                #expect(executed == executed.sorted(), "root \(root), connection \(connection): out of order")
            }
        }
    }
}
