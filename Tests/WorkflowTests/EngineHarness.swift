import EventStore
import Foundation
import JSON
import Telemetry
@testable import Workflow

/// A workflow engine on a real SQLite file in a temporary directory. `post` stores an event
/// PENDING and announces it, as `POST /event/async` does.
final class EngineHarness: @unchecked Sendable {
    let directory: String
    let store: EventStore
    let engine: WorkflowEngine

    init(directory: String? = nil, workflows: [WorkflowDefinition]? = nil,
         configure: (inout WorkflowEngineConfiguration) -> Void = { _ in }, start: Bool = true) throws {
        self.directory = directory ?? WorkflowFixtures.temporaryDirectory()
        store = try EventStore(path: self.directory + "/events.sqlite")
        var configuration = WorkflowEngineConfiguration()
        configuration.workerCount = 2
        configure(&configuration)
        engine = WorkflowEngine(store: store, workflows: try workflows ?? WorkflowLoader.load(directory: WorkflowFixtures.workflowDirectory),
                                configuration: configuration)
        if start { try engine.start() }
    }

    /// Stops the engine and closes the database, keeping the directory.
    func close() {
        engine.stop()
        store.close()
    }

    /// Stores events PENDING in one transaction, then announces them.
    func post(_ events: [Event], announce: Bool = true) throws {
        try store.writer.perform { connection in
            for event in events { try EventRecords.insert(event, on: connection) }
        }
        if announce { engine.eventsAccepted(events) }
    }

    func post(_ event: Event) throws {
        try post([event])
    }

    /// Runs one event through `execute` and waits for the result.
    func sync(_ event: Event, timeoutMilliseconds: Int = 10_000) -> SyncExecutionResult {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        engine.execute(event, timeoutMilliseconds: timeoutMilliseconds) { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return box.result!
    }

    func event(_ id: String) throws -> Event? {
        try store.read { try EventRecords.fetch(id: id, on: $0) }
    }

    func status(of id: String) throws -> String? {
        try event(id)?.eventStatus
    }

    /// Polls until none of `ids` is PENDING or SCHEDULED, or the deadline passes.
    @discardableResult
    func waitUntilProcessed(_ ids: [String], seconds: Double = 20) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let open = try store.read { connection in
                try ids.filter { id in
                    let status = try EventRecords.fetch(id: id, on: connection)?.eventStatus
                    return status == EventStatus.pending || status == EventStatus.scheduled
                }
            }
            if open.isEmpty { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    func entity(_ type: String, _ ref: String, retailerId: String = "1") throws -> Entity? {
        try store.read { try EntityRecords.fetch(EntityKey(retailerId: retailerId, type: type, ref: ref), on: $0) }
    }

    /// Returns every event whose sourceEvents is `[id]`, oldest first.
    func caused(by id: String) throws -> [Event] {
        let sourceEvents = JSONWriter.encodeString(.array([.string(id)]))
        return try store.read { connection in
            var ids: [String] = []
            try connection.query("SELECT id FROM events WHERE source_events = ?", [.text(sourceEvents)]) { row in
                ids.append(EventIDText.text(row.bytes(0)))
            }
            return try ids.compactMap { try EventRecords.fetch(id: $0, on: connection) }
        }.sorted { $0.id < $1.id }
    }
}

extension EngineHarness {
    /// Stores `threads * perThread` events from `threads` threads at once, each announced after
    /// its own commit as `POST /event/async` does, and returns them in commit order.
    func postConcurrently(threads: Int, perThread: Int, _ make: @Sendable (Int, Int) -> Event) -> [Event] {
        let accepted = AcceptedLog()
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread {
                let event = make(thread, index)
                store.writer.submit({ connection in try EventRecords.insert(event, on: connection) }) { result in
                    if case .success = result {
                        accepted.append(event)
                        self.engine.eventsAccepted([event])
                    }
                }
            }
        }
        return accepted.waitForCount(threads * perThread)
    }

    /// The ids of the events that made a snapshot audit of an entity of `entityType`, per entity
    /// ref, in execution order (snapshot ids are UUIDv7, made as the executions run).
    func snapshotOrder(entityType: String) throws -> [String: [String]] {
        let snapshots = try store.read { connection in
            try EventRecords.list(EventQuery(category: AuditCategory.snapshot, eventType: EventType.orchestrationAudit,
                                             count: 1_000_000), on: connection).results
        }
        var order: [String: [String]] = [:]
        for snapshot in snapshots.sorted(by: { $0.id < $1.id }) where snapshot.context.entityType == entityType {
            order[snapshot.context.entityRef!, default: []].append(snapshot.context.sourceEvents[0])
        }
        return order
    }
}

/// Formats the 16 bytes of a stored event id as UUID text.
enum EventIDText {
    static func text(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let characters = Array(hex)
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }
        return groups.joined(separator: "-")
    }
}

final class ResultBox: @unchecked Sendable {
    var result: SyncExecutionResult?
}
