import EventStore
import Foundation
import Synchronization
import Testing

/// Concurrent submissions to the group-commit writer, where random items throw or hit a
/// constraint, so groups often take the rerun with savepoints.
@Suite struct WriterStressTests {
    struct Thrown: Error {}

    enum Kind: CaseIterable { case insert, insertThenThrow, duplicateID }

    /// One submitted item and how its completion reported it.
    struct Outcome {
        let eventID: String
        let succeeded: Bool
    }

    static func storeConfiguration(syncer: Bool) -> EventStore.Configuration {
        var configuration = EventStore.Configuration()
        configuration.syncsWALOnItsOwnThread = syncer
        return configuration
    }

    /// With a maximum group size of 4, failures often fall on the first or last item of a group.
    @Test(arguments: [true, false], [1000, 4])
    func mixedFailuresCommitExactlyTheSuccesses(syncer: Bool, maximumGroupSize: Int) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = Self.storeConfiguration(syncer: syncer)
        configuration.writer.maximumGroupSize = maximumGroupSize
        let store = try EventStore(path: directory.databasePath, configuration: configuration)
        defer { store.close() }

        // Events whose ids a later item reuses, so that item fails on the UNIQUE constraint.
        let existing = (0..<20).map { makeEvent(entityRef: "EXISTING-\($0)") }
        try store.writer.perform { connection in
            for event in existing { try EventRecords.insert(event, on: connection) }
        }

        let threads = 8
        let itemsPerThread = 150
        let outcomes = Mutex<[[Outcome]]>(Array(repeating: [], count: threads))
        let completionOrder = Mutex<[[Int]]>(Array(repeating: [], count: threads))
        let workRuns = Atomic<Int>(0)
        let done = DispatchGroup()

        // The writer waits until the first 300 items are queued, so at least one large group
        // forms. The rest race with the writer, in groups of every size. The wait runs once
        // because this item runs again when another item of its group throws.
        let submitted = Atomic<Int>(0)
        let release = DispatchSemaphore(value: 0)
        let waited = Atomic<Bool>(false)
        store.writer.submit({ _ in
            if !waited.exchange(true, ordering: .relaxed) { release.wait() }
        }, completion: { _ in })

        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var generator = SeededGenerator(seed: UInt64(1000 + thread))
            for index in 0..<itemsPerThread {
                let kind = Kind.allCases.randomElement(using: &generator)!
                let event = kind == .duplicateID
                    ? makeEvent(id: existing.randomElement(using: &generator)!.id, entityRef: "DUPLICATE")
                    : makeEvent(entityRef: "T\(thread)-\(index)")
                done.enter()
                store.writer.submit({ connection in
                    workRuns.add(1, ordering: .relaxed)
                    try EventRecords.insert(event, on: connection)
                    if kind == .insertThenThrow { throw Thrown() }
                }, completion: { result in
                    let succeeded = if case .success = result { true } else { false }
                    outcomes.withLock { $0[thread].append(Outcome(eventID: event.id, succeeded: succeeded)) }
                    completionOrder.withLock { $0[thread].append(index) }
                    done.leave()
                })
                if submitted.add(1, ordering: .relaxed).newValue == 300 { release.signal() }
            }
        }
        #expect(done.wait(timeout: .now() + 20) == .success, "some completions never ran")

        // A thread's items are queued in submission order and groups commit in queue order.
        for (thread, order) in completionOrder.withLock({ $0 }).enumerated() {
            #expect(order == Array(0..<itemsPerThread), "thread \(thread) saw completions out of order")
        }

        let all = outcomes.withLock { $0 }.flatMap { $0 }
        let counts = try store.read { connection -> [String: Int64] in
            var counts: [String: Int64] = [:]
            try connection.query("SELECT lower(hex(id)), count(*) FROM events GROUP BY id") { row in
                counts[row.text(0)] = row.integer(1)
            }
            return counts
        }
        func hexKey(_ id: String) -> String { id.replacingOccurrences(of: "-", with: "") }
        for outcome in all where outcome.succeeded {
            #expect(counts[hexKey(outcome.eventID)] == 1, "event \(outcome.eventID) was reported stored")
        }
        let existingKeys = Set(existing.map { hexKey($0.id) })
        for outcome in all where !outcome.succeeded && !existingKeys.contains(hexKey(outcome.eventID)) {
            #expect(counts[hexKey(outcome.eventID)] == nil, "event \(outcome.eventID) was reported failed")
        }
        let successes = all.filter(\.succeeded).count
        #expect(counts.values.reduce(0, +) == Int64(successes + existing.count))
        #expect(successes > 0)
        #expect(successes < all.count)
        // Items before a failure in their group run twice, so some group took the savepoint rerun.
        #expect(workRuns.load(ordering: .relaxed) > all.count)
    }

    /// A group whose COMMIT fails reports its items after the completions of every group
    /// committed before it, even while those still wait for the WAL fsync.
    @Test func failedGroupReportsAfterEarlierGroups() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath, configuration: Self.storeConfiguration(syncer: true))
        defer { store.close() }

        // A deferred foreign key is checked at COMMIT, so an orphan row makes the whole COMMIT fail.
        try store.writer.perform { connection in
            try connection.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            try connection.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
        }

        let order = Mutex<[String]>([])
        let firstRunning = DispatchSemaphore(value: 0)
        let secondRunning = DispatchSemaphore(value: 0)
        let failureReported = DispatchSemaphore(value: 0)
        let done = DispatchGroup()

        // The first completion blocks the syncer thread, so the second group's completion waits
        // behind it; the failed group must wait too.
        done.enter()
        store.writer.submit({ _ in firstRunning.signal() }, completion: { result in
            order.withLock { $0.append("first \((try? result.get()) != nil)") }
            _ = failureReported.wait(timeout: .now() + .milliseconds(500))
            done.leave()
        })
        firstRunning.wait()

        done.enter()
        store.writer.submit({ _ in secondRunning.signal() }, completion: { result in
            order.withLock { $0.append("second \((try? result.get()) != nil)") }
            done.leave()
        })
        secondRunning.wait()

        done.enter()
        store.writer.submit({ connection in
            try connection.run("INSERT INTO child (parent_id) VALUES (999)")
        }, completion: { result in
            order.withLock { $0.append("orphan \((try? result.get()) != nil)") }
            failureReported.signal()
            done.leave()
        })

        #expect(done.wait(timeout: .now() + 5) == .success, "some completions never ran")
        #expect(order.withLock { $0 } == ["first true", "second true", "orphan false"])
        let orphans = try store.read { try $0.scalarInteger("SELECT count(*) FROM child") }
        #expect(orphans == 0)
    }

    @Test(arguments: [true, false])
    func performInCompletionIsRejected(syncer: Bool) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath, configuration: Self.storeConfiguration(syncer: syncer))
        defer { store.close() }

        // One succeeding and one throwing item, each calling `perform` from its completion.
        let errors = Mutex<[String]>([])
        let done = DispatchGroup()
        for fails in [false, true] {
            done.enter()
            store.writer.submit({ _ in
                if fails { throw Thrown() }
            }, completion: { [writer = store.writer] _ in
                do {
                    _ = try writer.perform { _ in 1 }
                    errors.withLock { $0.append("no error") }
                } catch {
                    errors.withLock { $0.append("\(error)") }
                }
                done.leave()
            })
        }
        #expect(done.wait(timeout: .now() + 5) == .success, "perform in a completion deadlocked")
        let expected = "\(DatabaseWriterError.calledOnWriterThread)"
        #expect(errors.withLock { $0 } == [expected, expected])
    }

    @Test(arguments: [true, false])
    func closeFinishesQueuedItems(syncer: Bool) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath, configuration: Self.storeConfiguration(syncer: syncer))

        // The first item blocks the writer, so the rest queue up behind it while close() starts.
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        store.writer.submit({ _ in
            holding.signal()
            release.wait()
        }, completion: { _ in })
        holding.wait()

        let total = 300
        let finished = Mutex<[Int: Int]>([:])
        let stored = Atomic<Int>(0)
        let done = DispatchGroup()
        for index in 0..<total {
            let event = makeEvent(entityRef: "CLOSE-\(index)")
            done.enter()
            store.writer.submit({ connection in
                try EventRecords.insert(event, on: connection)
                if index % 7 == 3 { throw Thrown() }
            }, completion: { result in
                if case .success = result { stored.add(1, ordering: .relaxed) }
                finished.withLock { $0[index, default: 0] += 1 }
                done.leave()
            })
        }

        let closed = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            store.close()
            closed.signal()
        }
        // Items submitted while the store closes either run or fail with `closed`.
        let late = DispatchGroup()
        late.enter()
        store.writer.submit({ _ in 0 }, completion: { _ in late.leave() })
        release.signal()

        #expect(closed.wait(timeout: .now() + 10) == .success, "close() did not return")
        #expect(done.wait(timeout: .now() + 5) == .success, "queued items were never finished")
        #expect(late.wait(timeout: .now() + 5) == .success, "an item submitted during close was never finished")
        #expect(finished.withLock { $0.count } == total)
        #expect(finished.withLock { $0.values.allSatisfy { $0 == 1 } })

        // Reopened, the store contains exactly the items reported as stored.
        let reopened = try EventStore(path: directory.databasePath)
        defer { reopened.close() }
        let count = try reopened.read { try $0.scalarInteger("SELECT count(*) FROM events WHERE entity_ref LIKE 'CLOSE-%'") }
        #expect(count == Int64(stored.load(ordering: .relaxed)))
        #expect(count == Int64(total - (0..<total).filter { $0 % 7 == 3 }.count))

        let rejected = Mutex<Bool>(false)
        store.writer.submit({ _ in 0 }, completion: { result in
            if case .failure(DatabaseWriterError.closed) = result { rejected.withLock { $0 = true } }
        })
        #expect(rejected.withLock { $0 })
    }
}
