import Synchronization
import Testing
@testable import Workflow

@Suite struct ExecutionPacingTests {
    /// A load that a test sets by hand.
    final class FakeLoad: Sendable {
        let waiting = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
        let nanoseconds = Atomic<UInt64>(1_000_000_000)

        func advance(milliseconds: UInt64) {
            nanoseconds.add(milliseconds * 1_000_000, ordering: .relaxed)
        }

        var clock: ExecutionPacing.Clock {
            { self.nanoseconds.load(ordering: .relaxed) }
        }

        func set(waiting: Int, completed: Int? = nil) {
            self.waiting.store(waiting, ordering: .relaxed)
            if let completed { self.completed.store(completed, ordering: .relaxed) }
        }

        var closure: ExecutionPacing.Load {
            { (self.waiting.load(ordering: .relaxed), self.completed.load(ordering: .relaxed)) }
        }
    }

    private func pacing(_ load: FakeLoad, share: Double = 0.1, threshold: Int = 16, backlogLimit: Int = 1000,
                        minimumRequestRate: Double = 0) -> ExecutionPacing {
        ExecutionPacing(share: share, busyThreshold: threshold, backlogLimit: backlogLimit,
                        minimumRequestRate: minimumRequestRate, load: load.closure, clock: load.clock)
    }

    @Test func runsFreelyBelowThreshold() {
        let load = FakeLoad()
        var pacing = pacing(load)
        load.set(waiting: 15)
        for _ in 0..<100 {
            #expect(pacing.decide(queued: 10) == .run)
        }
        #expect(!pacing.isPacing)
    }

    @Test func pacedRunsEarnedShareOnly() {
        let load = FakeLoad()
        var pacing = pacing(load, share: 0.1)
        load.set(waiting: 16)
        #expect(pacing.decide(queued: 10) == .wait)
        #expect(pacing.isPacing)

        // 50 committed requests earn five executions at a share of 0.1, and no more.
        load.set(waiting: 40, completed: 50)
        var runs = 0
        for _ in 0..<20 where pacing.decide(queued: 10) == .run {
            runs += 1
        }
        #expect(runs == 5)
    }

    @Test func pacingStopsBelowQuarterThreshold() {
        let load = FakeLoad()
        var pacing = pacing(load, threshold: 16)
        load.set(waiting: 16)
        #expect(pacing.decide(queued: 1) == .wait)
        // Between a quarter of the threshold and the threshold, pacing goes on.
        load.set(waiting: 4)
        #expect(pacing.decide(queued: 1) == .wait)
        load.set(waiting: 3)
        #expect(pacing.decide(queued: 1) == .run)
        #expect(!pacing.isPacing)
        // And it starts again only at the threshold.
        load.set(waiting: 15)
        #expect(pacing.decide(queued: 1) == .run)
    }

    @Test func floodHoldsPacingThroughDips() {
        let load = FakeLoad()
        var pacing = pacing(load, share: 0.001, threshold: 16)
        load.set(waiting: 64, completed: 0)
        #expect(pacing.decide(queued: 1) == .wait)
        // 1,000 requests in 50 ms: 20,000 per second.
        load.advance(milliseconds: 50)
        load.set(waiting: 64, completed: 1_000)
        #expect(pacing.decide(queued: 1) == .run)
        #expect(pacing.decide(queued: 1) == .wait)

        // A dip below a quarter of the threshold does not end pacing before 50 ms.
        load.set(waiting: 2)
        load.advance(milliseconds: 49)
        #expect(pacing.decide(queued: 1) == .wait)
        load.advance(milliseconds: 1)
        #expect(pacing.decide(queued: 1) == .run)
        #expect(!pacing.isPacing)
    }

    @Test func moderateRateEndsPacingAtOnce() {
        let load = FakeLoad()
        var pacing = pacing(load, share: 0.001, threshold: 16)
        load.set(waiting: 16, completed: 0)
        #expect(pacing.decide(queued: 1) == .wait)
        // 50 requests in 50 ms: 1,000 per second, a rate the engine keeps up with.
        load.advance(milliseconds: 50)
        load.set(waiting: 2, completed: 50)
        #expect(pacing.decide(queued: 1) == .run)
        #expect(!pacing.isPacing)
    }

    /// Sixteen clients posting 1,000 requests per second in all, on a machine slow enough that
    /// all of them wait for each commit: the engine keeps up, so nothing is paced.
    @Test func steadyModerateRateIsNeverPaced() {
        let load = FakeLoad()
        var pacing = pacing(load, share: 0.01, minimumRequestRate: 5_000)
        for step in 0..<40 {
            load.advance(milliseconds: 50)
            load.set(waiting: 16, completed: 50 * (step + 1))

            #expect(pacing.decide(queued: 100) == .run)
            #expect(!pacing.isPacing)
        }
    }

    @Test func floodAboveMinimumRateIsPaced() {
        let load = FakeLoad()
        var pacing = pacing(load, share: 0.01, minimumRequestRate: 5_000)

        // Until a first window of 50 ms has measured the rate, executions are not paced.
        load.set(waiting: 64, completed: 0)
        #expect(pacing.decide(queued: 100) == .run)
        #expect(!pacing.isPacing)

        // 1,000 requests in 50 ms: 20,000 per second.
        load.advance(milliseconds: 50)
        load.set(waiting: 64, completed: 1_000)
        var runs = 0
        for _ in 0..<100 where pacing.decide(queued: 100) == .run { runs += 1 }
        #expect(pacing.isPacing)
        #expect(runs == 10)

        // The flood slows to 1,000 per second with as many requests waiting: pacing ends.
        load.advance(milliseconds: 50)
        load.set(waiting: 64, completed: 1_050)
        #expect(pacing.decide(queued: 100) == .run)
        #expect(!pacing.isPacing)
    }

    @Test func backlogLimitEndsPacingWithHysteresis() {
        let load = FakeLoad()
        var pacing = pacing(load, backlogLimit: 1000)
        load.set(waiting: 64)
        #expect(pacing.decide(queued: 1000) == .wait)
        #expect(pacing.decide(queued: 1001) == .run)
        #expect(pacing.isCatchingUp)
        #expect(pacing.decide(queued: 600) == .run)
        #expect(pacing.decide(queued: 500) == .run)
        #expect(pacing.decide(queued: 499) == .wait)
        #expect(!pacing.isCatchingUp)
    }

    @Test func creditIsCappedAndRefunded() {
        let load = FakeLoad()
        var pacing = pacing(load, share: 1)
        load.set(waiting: 64, completed: 10_000)
        var runs = 0
        while pacing.decide(queued: 1) == .run {
            runs += 1
        }
        #expect(runs == Int(ExecutionPacing.maximumCredit))

        load.set(waiting: 64, completed: 10_001)
        #expect(pacing.decide(queued: 1) == .run)
        pacing.refund()
        #expect(pacing.decide(queued: 1) == .run)
        #expect(pacing.decide(queued: 1) == .wait)
    }

    @Test func tinyShareIsRaisedToMinimum() {
        let load = FakeLoad()
        for share in [0, -1, Double.nan, 0.000_001] {
            let pacing = pacing(load, share: share)
            #expect(pacing.share == ExecutionPacing.minimumShare)
        }
    }
}
