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

        // 1,000 requests in 50 ms: 20,000 per second. What they earned before pacing began
        // does not count beyond one execution.
        load.advance(milliseconds: 50)
        load.set(waiting: 64, completed: 1_000)
        var runs = 0
        for _ in 0..<100 where pacing.decide(queued: 100) == .run { runs += 1 }
        #expect(pacing.isPacing)
        #expect(runs == 1)

        // 1,000 more in the next 50 ms, while paced, earn ten.
        load.advance(milliseconds: 50)
        load.set(waiting: 64, completed: 2_000)
        runs = 0
        for _ in 0..<100 where pacing.decide(queued: 100) == .run { runs += 1 }
        #expect(runs == 10)

        // The flood slows to 1,000 per second with as many requests waiting: pacing ends.
        load.advance(milliseconds: 50)
        load.set(waiting: 64, completed: 2_050)
        #expect(pacing.decide(queued: 100) == .run)
        #expect(!pacing.isPacing)
    }

    /// Pacing with a probe, as the engine runs it, at a share of 0.01.
    private func probed(_ load: FakeLoad, minimumRequestRate: Double) -> ExecutionPacing {
        ExecutionPacing(share: 0.01, busyThreshold: 16, backlogLimit: 100_000, minimumRequestRate: minimumRequestRate,
                        probe: PacingProbe(), load: load.closure, clock: load.clock)
    }

    /// Pacing after a 2 s flood whose rate pacing raises from 3,300 to 8,000 per second.
    private func pacingAfterFlood(_ load: FakeLoad) -> ExecutionPacing {
        var pacing = probed(load, minimumRequestRate: 0)
        _ = drive(&pacing, load, milliseconds: 2_000, waiting: 64) { $0 == .paced ? 8_000 : 3_300 }
        #expect(pacing.probe?.verdict == .helps)
        return pacing
    }

    /// Runs `pacing` for `milliseconds` in steps of 5 ms with `waiting` requests waiting and
    /// `rate(mode)` committed per second; returns the steps at which it paced.
    private func drive(_ pacing: inout ExecutionPacing, _ load: FakeLoad, milliseconds: Int, waiting: Int,
                       rate: (PacingProbe.Mode) -> Double) -> Int {
        var pacedSteps = 0
        var completed = Double(load.completed.load(ordering: .relaxed))
        for _ in 0..<(milliseconds / 5) {
            load.set(waiting: waiting, completed: Int(completed))
            _ = pacing.decide(queued: 100)
            if pacing.mode == .paced { pacedSteps += 1 }
            completed += rate(pacing.mode) * 0.005
            load.advance(milliseconds: 5)
        }
        return pacedSteps
    }

    /// 3,000 requests per second that all wait for their commit whatever the engine does (a
    /// slow disk): pacing cannot raise their rate, so the probe keeps executions unpaced.
    @Test func pressingLoadThatPacingCannotRaiseRunsUnpaced() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 2_000)
        let pacedSteps = drive(&pacing, load, milliseconds: 10_000, waiting: 32) { _ in 3_000 }

        #expect(pacing.probe?.verdict == .doesNotHelp)
        #expect(!pacing.isPacing)
        // Paced only in the probes' paced phases: a few per cent of 2,000 steps.
        #expect(pacedSteps < 150)
    }

    /// A flood whose rate pacing doubles: after the probe, executions are paced.
    @Test func floodThatPacingRaisesIsPacedAfterProbe() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 2_000)
        let pacedSteps = drive(&pacing, load, milliseconds: 2_000, waiting: 64) { $0 == .paced ? 8_000 : 3_300 }

        #expect(pacing.probe?.verdict == .helps)
        #expect(pacing.isPacing)
        #expect(pacedSteps > 300)
    }

    /// A probe's keeping-up phase starts one execution per committed request.
    @Test func keepingUpPhaseStartsOnePerRequest() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 0)
        // Requests press: the probe starts with executions keeping up, and what the requests
        // earned before does not count.
        load.set(waiting: 64, completed: 500)
        #expect(pacing.decide(queued: 100) == .wait)
        #expect(pacing.mode == .keepingUp)

        load.set(waiting: 64, completed: 510)
        var runs = 0
        for _ in 0..<100 where pacing.decide(queued: 100) == .run { runs += 1 }
        #expect(runs == 10)

        // A run whose event could not be taken gives its execution back.
        load.set(waiting: 64, completed: 511)
        #expect(pacing.decide(queued: 100) == .run)
        pacing.refund()
        #expect(pacing.decide(queued: 100) == .run)
        #expect(pacing.decide(queued: 100) == .wait)
    }

    /// Once pacing was found to help, a flood whose free executions hold the rate under the
    /// minimum rate is still paced.
    @Test func minimumRateDoesNotStopPacingThatHelps() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 2_000)
        _ = drive(&pacing, load, milliseconds: 2_000, waiting: 64) { $0 == .paced ? 8_000 : 3_300 }
        #expect(pacing.probe?.verdict == .helps)

        // A dip ends pacing; freely running executions then hold the rate at 700 per second.
        load.set(waiting: 0)
        load.advance(milliseconds: 100)
        #expect(pacing.decide(queued: 100) == .run)
        #expect(!pacing.isPacing)
        let pacedSteps = drive(&pacing, load, milliseconds: 200, waiting: 64) { $0 == .paced ? 8_000 : 700 }
        #expect(pacedSteps >= 39)
    }

    /// A flood leaves the finding that pacing helps; a steady load a few seconds later, which
    /// pacing cannot raise, is measured afresh and runs unpaced.
    @Test func helpsIsForgottenAfterPressureEnds() {
        let load = FakeLoad()
        var pacing = pacingAfterFlood(load)

        _ = drive(&pacing, load, milliseconds: 2_000, waiting: 0) { _ in 0 }
        #expect(pacing.probe?.verdict == .unknown)

        let pacedSteps = drive(&pacing, load, milliseconds: 5_000, waiting: 32) { _ in 1_000 }
        #expect(pacing.probe?.verdict == .doesNotHelp)
        #expect(!pacing.isPacing)
        // The paced phases of the first probe and of the checks 1 s and 3 s after it, 30
        // steps each, out of 1,000.
        #expect(pacedSteps <= 90)
    }

    /// A finding that pacing does not help outlives a pause: the load after it is measured
    /// again, as its interval has passed, but starts unpaced.
    @Test func doesNotHelpOutlivesPause() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 0)
        _ = drive(&pacing, load, milliseconds: 500, waiting: 32) { _ in 1_000 }
        #expect(pacing.probe?.verdict == .doesNotHelp)

        _ = drive(&pacing, load, milliseconds: 2_000, waiting: 0) { _ in 0 }
        #expect(pacing.probe?.verdict == .doesNotHelp)
        let pacedSteps = drive(&pacing, load, milliseconds: 150, waiting: 32) { _ in 1_000 }
        #expect(pacedSteps == 0)
        #expect(pacing.mode == .keepingUp)
    }

    /// The engine does not look while its queue is empty: a pause without any look still
    /// makes it forget that pacing helps.
    @Test func helpsIsForgottenAfterPauseWithoutLooks() {
        let load = FakeLoad()
        var pacing = pacingAfterFlood(load)

        load.advance(milliseconds: 3_000)
        load.set(waiting: 32)
        _ = pacing.decide(queued: 100)
        #expect(pacing.probe?.verdict == .unknown)
        #expect(pacing.mode == .keepingUp)
    }

    /// A flood that ends while a check runs leaves no verdict from rates measured without it.
    @Test func floodEndingMidProbeCancelsIt() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 0)
        _ = drive(&pacing, load, milliseconds: 1_500, waiting: 64) { $0 == .paced ? 8_000 : 3_300 }
        let probes = pacing.probe?.probeCount
        #expect(pacing.probe?.verdict == .helps)
        #expect(pacing.probe?.isProbing == true)

        _ = drive(&pacing, load, milliseconds: 300, waiting: 0) { _ in 0 }
        #expect(pacing.probe?.isProbing == false)
        #expect(pacing.probe?.probeCount == probes)
        #expect(pacing.probe?.verdict == .helps)
        #expect(pacing.mode == .free)
    }

    /// A flood from more clients than the steady load before it is checked within a second
    /// and a half, even while executions that run freely hold its rate down.
    @Test func floodAfterSteadyLoadIsCheckedByWaiting() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 0)
        _ = drive(&pacing, load, milliseconds: 70_000, waiting: 16) { _ in 1_000 }
        #expect(pacing.probe?.verdict == .doesNotHelp)

        _ = drive(&pacing, load, milliseconds: 1_500, waiting: 64, rate: PacingProbeTests.flood)
        #expect(pacing.probe?.verdict == .helps)
    }

    /// Past the backlog limit, a probe under way is dropped and executions run freely.
    @Test func catchingUpCancelsProbe() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 0)
        load.set(waiting: 64, completed: 0)
        _ = pacing.decide(queued: 100)
        #expect(pacing.probe?.isProbing == true)

        #expect(pacing.decide(queued: 100_001) == .run)
        #expect(pacing.isCatchingUp)
        #expect(pacing.probe?.isProbing == false)
        #expect(pacing.mode == .free)
    }

    /// Under the minimum rate, no probe starts at all.
    @Test func noProbeUnderMinimumRate() {
        let load = FakeLoad()
        var pacing = probed(load, minimumRequestRate: 2_000)
        let pacedSteps = drive(&pacing, load, milliseconds: 2_000, waiting: 64) { _ in 1_000 }

        #expect(pacedSteps == 0)
        #expect(pacing.probe?.probeCount == 0)
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
        // Pacing starts with nothing earned: what requests earned before does not count.
        load.set(waiting: 64, completed: 0)
        #expect(pacing.decide(queued: 1) == .wait)

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
