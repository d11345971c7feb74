import EventStore
import Foundation
import Synchronization
import Testing

@Suite struct DatabaseWriterTests {
    @Test func throwingItemRollsBackOnlyItself() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        struct Refused: Error {}
        let kept = makeEvent()
        let rolledBack = makeEvent()
        let done = DispatchGroup()
        let outcomes = Mutex<[String: Bool]>([:])

        // Submitted back to back, so the three usually share one transaction.
        for (label, event, fails) in [("first", kept, false), ("second", rolledBack, true), ("third", makeEvent(), false)] {
            done.enter()
            store.writer.submit({ connection in
                try EventRecords.insert(event, on: connection)
                if fails { throw Refused() }
            }, completion: { result in
                outcomes.withLock { $0[label] = (try? result.get()) != nil }
                done.leave()
            })
        }
        done.wait()

        #expect(outcomes.withLock { $0 } == ["first": true, "second": false, "third": true])
        let stored = try store.read { connection in
            (try EventRecords.fetch(id: kept.id, on: connection) != nil,
             try EventRecords.fetch(id: rolledBack.id, on: connection) != nil)
        }
        #expect(stored.0)
        #expect(!stored.1)
    }

    /// A request queued behind a backlog of background items commits in the next group, with
    /// at most `backgroundItemsBesideRequests` of them; background items keep their order.
    @Test func requestsGoBeforeBackgroundBacklog() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        // The first item holds the writer until the backlog and the request are queued.
        let release = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        let order = Mutex<[String]>([])
        func submit(_ label: String, _ priority: DatabaseWriter.Priority, wait: Bool = false) {
            done.enter()
            store.writer.submit(priority: priority, { connection in
                if wait { release.wait() }
                try EventRecords.insert(makeEvent(), on: connection)
            }, completion: { result in
                if case .success = result { order.withLock { $0.append(label) } }
                done.leave()
            })
        }
        submit("holder", .background, wait: true)
        Thread.sleep(forTimeInterval: 0.05)
        for index in 0..<200 { submit("background-\(index)", .background) }
        submit("request", .normal)
        release.signal()
        done.wait()

        let committed = order.withLock { $0 }
        #expect(committed.count == 202)
        let request = try #require(committed.firstIndex(of: "request"))
        // The holder's group, then the request's group: the request and 64 background items.
        #expect(request <= 1 + 64)
        let background = committed.filter { $0.hasPrefix("background-") }
        #expect(background == (0..<200).map { "background-\($0)" })
    }

    /// Requests that arrive while the WAL's fsync runs wait for it to end and then commit
    /// together, since a group committed during the fsync would wait for the next one anyway.
    @Test func requestsGatherWhileTheWALSyncs() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = EventStore.Configuration()
        // A bound far above the time the test needs, so a slow machine cannot split the group.
        configuration.writer.maximumGatheringMicroseconds = 5_000_000
        let store = try EventStore(path: directory.databasePath, configuration: configuration)
        defer { store.close() }

        // Each request records the number of events committed before its group, read on a
        // connection of its own: requests of one group see the same number.
        let seen = Mutex<[Int64]>([])
        let done = DispatchGroup()
        done.enter()
        store.writer.submit({ connection in
            try EventRecords.insert(makeEvent(), on: connection)
        }, completion: { _ in
            // Completions run on the syncer's thread while its sync counts as in flight. The
            // pauses give a writer that does not wait the time to commit each request alone.
            for _ in 0..<5 {
                usleep(5_000)
                done.enter()
                store.writer.submit({ connection -> Int64 in
                    try EventRecords.insert(makeEvent(), on: connection)
                    return try store.read { try $0.scalarInteger("SELECT count(*) FROM events") } ?? -1
                }, completion: { result in
                    if case .success(let count) = result { seen.withLock { $0.append(count) } }
                    done.leave()
                })
            }
            done.leave()
        })
        done.wait()

        #expect(seen.withLock { $0 } == [1, 1, 1, 1, 1])
    }

    /// Requests that fill every group still leave room for the background items waiting.
    @Test func backgroundCommitsWhileRequestsFillGroups() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = EventStore.Configuration()
        configuration.writer.maximumGroupSize = 2
        let store = try EventStore(path: directory.databasePath, configuration: configuration)
        defer { store.close() }

        let release = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        let order = Mutex<[String]>([])
        func submit(_ label: String, _ priority: DatabaseWriter.Priority, wait: Bool = false) {
            done.enter()
            store.writer.submit(priority: priority, { _ in if wait { release.wait() } }, completion: { _ in
                order.withLock { $0.append(label) }
                done.leave()
            })
        }
        submit("holder", .normal, wait: true)
        Thread.sleep(forTimeInterval: 0.05)
        submit("background", .background)
        for _ in 0..<100 { submit("request", .normal) }
        release.signal()
        done.wait()

        let committed = order.withLock { $0 }
        let index = try #require(committed.firstIndex(of: "background"))
        // backgroundItemsBesideRequests (64) promises room beside requests in every group.
        #expect(index <= 3, "the background item committed at position \(index) of \(committed.count)")
    }

    @Test func groupRerunsAfterAFailure() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        // The first item holds the writer until the next three are queued, so those three
        // form the next group together.
        let release = DispatchSemaphore(value: 0)
        let holding = DispatchSemaphore(value: 0)
        store.writer.submit({ _ in
            holding.signal()
            release.wait()
        }, completion: { _ in })
        holding.wait()

        struct Refused: Error {}
        let events = [makeEvent(), makeEvent(), makeEvent()]
        let runs = Mutex<[Int]>([0, 0, 0])
        let outcomes = Mutex<[Bool?]>([nil, nil, nil])
        let done = DispatchGroup()
        for index in 0..<3 {
            done.enter()
            store.writer.submit({ connection in
                runs.withLock { $0[index] += 1 }
                try EventRecords.insert(events[index], on: connection)
                if index == 1 { throw Refused() }
            }, completion: { result in
                outcomes.withLock { $0[index] = (try? result.get()) != nil }
                done.leave()
            })
        }
        release.signal()
        done.wait()

        #expect(outcomes.withLock { $0 } == [true, false, true])
        // The group ran once without savepoints up to the failure, then again with them,
        // without the item that threw.
        #expect(runs.withLock { $0 } == [2, 1, 1])
        let stored = try store.read { connection in
            try events.map { try EventRecords.fetch(id: $0.id, on: connection) != nil }
        }
        #expect(stored == [true, false, true])
    }

    @Test func concurrentSubmissionsAllCommit() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let total = 2_000
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { worker in
            for _ in 0..<(total / 16) {
                let event = makeEvent(entityRef: "W-\(worker)")
                do {
                    try store.writer.perform { try EventRecords.insert(event, on: $0) }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }

        #expect(failures.load(ordering: .relaxed) == 0)
        let count = try store.read { try $0.scalarInteger("SELECT count(*) FROM events") }
        #expect(count == Int64(total))
    }

    @Test func completionRunsAfterCommitIsVisible() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let event = makeEvent()
        let visible = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        store.writer.submit({ try EventRecords.insert(event, on: $0) }, completion: { _ in
            // A separate read connection reads only committed data.
            let found = try? store.read { try EventRecords.fetch(id: event.id, on: $0) }
            visible.withLock { $0 = found != nil }
            done.signal()
        })
        done.wait()
        #expect(visible.withLock { $0 } == true)
    }

    @Test func performOnWriterThreadThrows() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let result = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        store.writer.submit({ _ in 1 }, completion: { _ in
            do {
                _ = try store.writer.perform { _ in 2 }
                result.withLock { $0 = "returned" }
            } catch {
                result.withLock { $0 = "\(error)" }
            }
            done.signal()
        })
        done.wait()
        #expect(result.withLock { $0 }?.contains("writer thread") == true)
    }

    @Test func submitAfterCloseFails() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        store.close()

        #expect(throws: DatabaseWriterError.self) {
            try store.writer.perform { _ in 1 }
        }
    }

    @Test func durableSettingsAreApplied() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let settings = try store.writer.perform { connection in
            [try connection.scalarInteger("PRAGMA synchronous"),
             try connection.scalarInteger("PRAGMA user_version")]
        }
        // 1 is NORMAL (https://sqlite.org/pragma.html#pragma_synchronous): the WAL syncer's
        // fsync, before any completion runs, does what FULL would do inside COMMIT.
        #expect(settings[0] == 1)
        #expect(settings[1] == Int64(Migrations.all.count))
        let pageSize = try store.read { try $0.scalarInteger("PRAGMA page_size") }
        #expect(pageSize == 8192)
        let mode = try store.read { connection -> String in
            var text = ""
            try connection.query("PRAGMA journal_mode") { text = $0.text(0) }
            return text
        }
        #expect(mode == "wal")
    }

    @Test func withoutSyncerCommitsAreFull() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = EventStore.Configuration()
        configuration.syncsWALOnItsOwnThread = false
        let store = try EventStore(path: directory.databasePath, configuration: configuration)
        defer { store.close() }

        let event = makeEvent()
        let synchronous = try store.writer.perform { connection in
            try EventRecords.insert(event, on: connection)
            return try connection.scalarInteger("PRAGMA synchronous")
        }
        // 2 is FULL.
        #expect(synchronous == 2)
        #expect(try store.read { try EventRecords.fetch(id: event.id, on: $0) } != nil)
    }
}
