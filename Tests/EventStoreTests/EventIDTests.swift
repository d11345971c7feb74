import EventStore
import Foundation
import Synchronization
import Testing

@Suite struct EventIDTests {
    @Test func idsMadeTogetherOnManyThreadsAreUniqueAndIncreasingPerThread() {
        let threads = 8
        let perThread = 20_000
        let idsByThread = Mutex([[String]](repeating: [], count: threads))
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var ids = [String]()
            ids.reserveCapacity(perThread)
            for _ in 0..<perThread { ids.append(EventID.make()) }
            idsByThread.withLock { $0[thread] = ids }
        }

        let all = idsByThread.withLock { $0 }
        for ids in all {
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "ids of one thread must increase")
            #expect(ids.allSatisfy(EventID.isValid))
        }
        #expect(Set(all.joined()).count == threads * perThread)
    }

    @Test func aFullMillisecondMovesTheTimestampAheadInsteadOfRepeating() {
        let sequence = EventIDSequence()
        let milliseconds: Int64 = 1_800_000_000_000
        let ids = (0..<5_000).map { _ in EventID.make(milliseconds: milliseconds, sequence: sequence) }

        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        let times = Set(ids.compactMap(EventID.milliseconds(of:)))
        // The counter starts below 512 and has 4,096 values, so 5,000 ids need a second millisecond.
        #expect(times.min() == milliseconds)
        #expect(times.count >= 2)
        #expect(times.allSatisfy { $0 <= milliseconds + 2 })
    }

    @Test func anEarlierTimeNeverMakesASmallerID() {
        let sequence = EventIDSequence()
        let later = EventID.make(milliseconds: 1_800_000_000_000, sequence: sequence)
        let earlier = EventID.make(milliseconds: 1_000, sequence: sequence)
        #expect(earlier > later)
        #expect(EventID.milliseconds(of: earlier) == 1_800_000_000_000)
    }
}
