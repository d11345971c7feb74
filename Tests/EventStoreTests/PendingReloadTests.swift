import EventStore
import Foundation
import Synchronization
import Testing

/// The reads and counters that the workflow engine's queue relies on when it leaves events in
/// the database and when it paces executions.
@Suite struct PendingReloadTests {
    @Test func pendingEventsComeInCommitOrder() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        // generatedOn runs backwards, and other types and statuses are mixed in.
        let pending = (0..<10).map { makeEvent(generatedOn: 10_000 - Int64($0)) }
        try store.writer.perform { connection in
            for event in pending {
                try EventRecords.insert(event, on: connection)
                try EventRecords.insert(makeEvent(type: EventType.general, generatedOn: 1), on: connection)
                try EventRecords.insert(makeEvent(status: EventStatus.complete, generatedOn: 1), on: connection)
            }
        }
        let pendingIDs = pending.map(\.id)
        #expect(try store.read { try EventRecords.countPendingOrchestrationEvents(on: $0) } == 10)

        var read: [String] = []
        var cursor: Int64?
        while true {
            let chunk = try store.read { [cursor] in try EventRecords.pendingOrchestrationEvents(after: cursor, limit: 3, on: $0) }
            read += chunk.map(\.event.id)
            guard let last = chunk.last, chunk.count == 3 else { break }
            cursor = last.rowid
        }
        #expect(read == pendingIDs)

        // Events committed after a read come after its cursor; processed ones do not come back.
        _ = try store.writer.perform { try EventRecords.updateStatus(id: pendingIDs[0], status: EventStatus.complete, on: $0) }
        let later = makeEvent(generatedOn: 1)
        try store.writer.perform { try EventRecords.insert(later, on: $0) }
        #expect(try store.read { try EventRecords.pendingOrchestrationEvents(after: nil, limit: 100, on: $0) }.map(\.event.id)
            == Array(pendingIDs.dropFirst()) + [later.id])
        let tail = try store.read { [cursor] in try EventRecords.pendingOrchestrationEvents(after: cursor, limit: 100, on: $0) }
        #expect(tail.map(\.event.id) == [pendingIDs[9], later.id])
    }

    @Test func pendingEventsOfOneRootComeInCommitOrder() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        // The root's own events (no root ref) and its children's, with generatedOn running
        // backwards; around them, events that must not be read.
        func own(_ time: Int64) -> Event {
            var event = makeEvent(entityRef: "HD-7", rootEntityRef: "HD-7", generatedOn: time)
            event.context.rootEntityRef = nil
            event.context.rootEntityType = nil
            return event
        }
        let expected = [own(5_000), makeEvent(entityType: "FULFILMENT", entityRef: "F-1", rootEntityRef: "HD-7", generatedOn: 4_000),
                      own(3_000), makeEvent(entityType: "FULFILMENT", entityRef: "F-2", rootEntityRef: "HD-7", generatedOn: 2_000)]
        let others = [
            makeEvent(entityRef: "HD-8", rootEntityRef: "HD-8", generatedOn: 4_500),
            makeEvent(retailerId: "2", entityRef: "HD-7", rootEntityRef: "HD-7", generatedOn: 4_500),
            makeEvent(type: EventType.orchestrationAudit, entityRef: "HD-7", rootEntityRef: "HD-7", status: EventStatus.success, generatedOn: 4_500),
            makeEvent(type: EventType.general, entityRef: "HD-7", rootEntityRef: "HD-7", generatedOn: 4_500),
            makeEvent(entityRef: "HD-7", rootEntityRef: "HD-7", status: EventStatus.complete, generatedOn: 4_500),
        ]
        try store.writer.perform { connection in
            for (event, other) in zip(expected, others) {
                try EventRecords.insert(event, on: connection)
                try EventRecords.insert(other, on: connection)
            }
            try EventRecords.insert(others[4], on: connection)
        }

        let read = try store.read { try EventRecords.pendingOrchestrationEvents(retailerId: "1", rootRef: "HD-7", on: $0) }
        #expect(read.map(\.id) == expected.map(\.id))
        #expect(try store.read { try EventRecords.pendingOrchestrationEvents(retailerId: "1", rootRef: "HD-9", on: $0) }.isEmpty)
    }

    @Test func noPendingEventsReadsNothing() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        try store.writer.perform { try EventRecords.insert(makeEvent(status: EventStatus.complete), on: $0) }
        #expect(try store.read { try EventRecords.pendingOrchestrationEvents(after: nil, limit: 10, on: $0) }.isEmpty)
        #expect(try store.read { try EventRecords.countPendingOrchestrationEvents(on: $0) } == 0)
    }

    @Test func writerCountsWaitingRequests() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let completedBefore = store.writer.completedRequests
        let release = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        // The first item holds the writer, so the next ones wait for their commit.
        done.enter()
        store.writer.submit({ _ in release.wait() }, completion: { _ in done.leave() })
        for _ in 0..<3 {
            done.enter()
            store.writer.submit({ try EventRecords.insert(makeEvent(), on: $0) }, completion: { _ in done.leave() })
        }
        done.enter()
        store.writer.submit(priority: .background, { try EventRecords.insert(makeEvent(), on: $0) }, completion: { _ in done.leave() })
        #expect(store.writer.waitingRequests == 4)

        release.signal()
        done.wait()
        #expect(store.writer.waitingRequests == 0)
        #expect(store.writer.completedRequests - completedBefore == 4)
    }
}
