import EventStore
import Foundation
import JSON
import Synchronization
import Testing

/// The inventory feed under load: signed deltas for many positions of one catalogue, posted
/// to `/event/async` from concurrent connections. The benchmark script runs the full size
/// (10,000 events from 32 connections); this test runs a smaller one to stay fast.
@Suite struct ScenarioLoadTests {
    static let eventCount = Int(ProcessInfo.processInfo.environment["EVENTS_INVENTORY_LOAD_EVENTS"] ?? "") ?? 2000
    static let connections = 32
    static let positions = 100

    /// What one connection posted, in its order.
    struct Posted {
        var connection: Int
        var eventId: String
        var position: String
        var delta: Int
    }

    @Test func inventoryLoadKeepsPerRootOrder() throws {
        let server = try ScenarioServer { $0.workerCount = 4 }
        defer { server.remove() }

        let posted = Mutex<[Posted]>([])
        let failures = Mutex<[String]>([])
        let perConnection = Self.eventCount / Self.connections
        DispatchQueue.concurrentPerform(iterations: Self.connections) { connection in
            do {
                let client = try server.server.client()
                var generator = SplitMix(seed: UInt64(connection + 1))
                for _ in 0..<perConnection {
                    let position = "SKU-\(generator.next() % UInt64(Self.positions)):DC-SYD"
                    let delta = generator.next() % 2 == 0 ? 1 : -1
                    let body = ScenarioTests.delta(ref: position, delta: delta)
                    let response = try client.request("POST", "/api/v4.1/event/async", headers: [
                        ("Authorization", "Bearer \(server.token)"), ("Content-Type", "application/json"),
                    ], body: Array(body.utf8))
                    guard response.status == 200, let id = try response.json()["eventId"]?.stringValue else {
                        failures.withLock { $0.append("status \(response.status): \(response.text)") }
                        continue
                    }
                    posted.withLock { $0.append(Posted(connection: connection, eventId: id, position: position, delta: delta)) }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let all = posted.withLock { $0 }
        #expect(all.count == perConnection * Self.connections)

        // Drain: poll the last event of every connection, then check them all.
        let store = server.server.store
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let pending = try store.read { try EventRecords.events(withStatus: EventStatus.pending, on: $0) }
            if pending.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.05)
        }

        var expected: [String: Int] = [:]
        for event in all {
            expected[event.position, default: 0] += event.delta
        }
        let statuses = try store.read { connection in
            try all.map { try EventRecords.fetch(id: $0.eventId, on: connection)?.eventStatus }
        }
        #expect(statuses.allSatisfy { $0 == EventStatus.complete })
        for (position, sum) in expected {
            let entity = try store.read { try EntityRecords.fetch(EntityKey(retailerId: "1", type: "INVENTORY_POSITION", ref: position), on: $0) }
            #expect(entity?.attributes["onHand"]?.integerValue == Int64(sum), "\(position)")
        }

        // Executions ran in accepted order: what one connection posted for a position (each
        // acknowledged before the next was sent) was executed in that order.
        let snapshots = try store.read { connection in
            try EventRecords.list(EventQuery(category: "snapshot", eventType: EventType.orchestrationAudit,
                                             count: 1_000_000), on: connection).results
        }
        var executionIndex: [String: Int] = [:]
        for (index, snapshot) in snapshots.sorted(by: { $0.id < $1.id }).enumerated() {
            executionIndex[snapshot.context.sourceEvents[0]] = index
        }
        #expect(executionIndex.count == all.count)
        var lastIndex: [String: Int] = [:]
        var outOfOrder = 0
        for event in all.sorted(by: { ($0.connection, $0.eventId) < ($1.connection, $1.eventId) }) {
            let key = "\(event.connection)/\(event.position)"
            let index = executionIndex[event.eventId] ?? -1
            if let previous = lastIndex[key], previous > index { outOfOrder += 1 }
            lastIndex[key] = index
        }
        #expect(outOfOrder == 0)
    }
}

/// A small deterministic random generator, so a failing load run can be repeated.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
