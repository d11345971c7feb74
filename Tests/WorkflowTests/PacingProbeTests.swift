import Testing
@testable import Workflow

@Suite struct PacingProbeTests {
    /// A server whose committed request rate depends on whether executions are paced, looked
    /// at every 5 ms, as paced workers do.
    struct Simulation {
        var probe = PacingProbe()
        var now: UInt64 = 1_000_000_000
        var completed = 0.0
        /// Milliseconds paced and in all, since the simulation began.
        var pacedMilliseconds = 0
        var milliseconds = 0
        var lastMode = PacingProbe.Mode.free
        var waiting = 32
        /// Every mode returned, in order.
        var modes: [PacingProbe.Mode] = []
        var lastPaced: Bool { lastMode == .paced }

        /// Runs for `milliseconds`, with `rate(mode)` committed requests per second.
        mutating func run(milliseconds: Int, rate: (PacingProbe.Mode) -> Double) {
            for _ in 0..<(milliseconds / 5) {
                let mode = probe.mode(now: now, completed: Int(completed), waiting: waiting, requestRate: rate(lastMode))
                lastMode = mode
                modes.append(mode)
                if mode == .paced { pacedMilliseconds += 5 }
                self.milliseconds += 5
                completed += rate(mode) * 0.005
                now += 5_000_000
            }
        }
    }

    /// A flood on a slow machine, where the engine's executions hold the requests back. With
    /// executions paced, 8,000 requests per second are committed. With one execution per
    /// request, 3,300 are, and with executions draining a backlog freely, 700.
    static func flood(_ mode: PacingProbe.Mode) -> Double {
        switch mode {
        case .paced: 8_000
        case .keepingUp: 3_300
        case .free: 700
        }
    }
    /// 1,000 requests per second from clients that send no faster, whatever the engine does.
    static func steady(_ mode: PacingProbe.Mode) -> Double { 1_000 }

    @Test func floodIsFoundToGainFromPacing() {
        var simulation = Simulation()
        simulation.run(milliseconds: 400, rate: Self.flood)

        #expect(simulation.probe.verdict == .helps)
        #expect(simulation.probe.pacedRate > 7_000)
        #expect(simulation.probe.keepingUpRate < 4_000)
        #expect(simulation.lastPaced)
    }

    @Test func rateLimitedByClientsIsNotPaced() {
        var simulation = Simulation()
        simulation.run(milliseconds: 400, rate: Self.steady)

        #expect(simulation.probe.verdict == .doesNotHelp)
        #expect(!simulation.lastPaced)
        // Only the probe's paced phase ran paced.
        #expect(simulation.pacedMilliseconds <= 150)
    }

    /// Checks that agree with the verdict come ever less often, so that a load pacing cannot
    /// help is paced for a small part of the time only.
    @Test func rechecksBackOff() {
        var simulation = Simulation()
        simulation.run(milliseconds: 120_000, rate: Self.steady)

        #expect(simulation.probe.verdict == .doesNotHelp)
        // The first probe, then checks 1, 2, 4, 8, 16, 32 and 32 s apart: eight in all.
        #expect(simulation.probe.probeCount >= 8)
        #expect(simulation.probe.probeCount <= 9)
        #expect(Double(simulation.pacedMilliseconds) / Double(simulation.milliseconds) < 0.015)
    }

    /// A flood whose gain lasts is checked 1 s after the finding, then at least 4 s after
    /// each check that confirms it: each check keeps executions to one per request for a
    /// while, which costs the flood requests.
    @Test func lastingGainIsCheckedSeldom() {
        var simulation = Simulation()
        simulation.run(milliseconds: 30_000, rate: Self.flood)

        #expect(simulation.probe.verdict == .helps)
        #expect(simulation.probe.reversalCount == 0)
        // The first probe, then checks at about 1.6, 5.9 and 14.2 s: four in all.
        #expect(simulation.probe.probeCount == 4)
        let keepingUp = simulation.modes.filter { $0 == .keepingUp }.count * 5
        #expect(keepingUp <= 4 * 160, "\(keepingUp) ms keeping up")
    }

    /// A load that rose during the probe looks like a gain from pacing, one the request rate
    /// keeps. The check 1 s after the finding measures again and ends it.
    @Test func gainFromARisingLoadIsCheckedWithinASecond() {
        var simulation = Simulation()
        simulation.run(milliseconds: 150) { _ in 3_300 }
        simulation.run(milliseconds: 200) { _ in 5_000 }
        #expect(simulation.probe.verdict == .helps)
        let pacedBefore = simulation.pacedMilliseconds

        simulation.run(milliseconds: 1_500) { _ in 5_000 }

        #expect(simulation.probe.probeCount >= 2)
        #expect(simulation.probe.verdict == .doesNotHelp)
        #expect(simulation.pacedMilliseconds - pacedBefore <= 1_200)
    }

    @Test func floodThatEndsInSteadyLoadIsCheckedAgain() {
        var simulation = Simulation()
        simulation.run(milliseconds: 10_000, rate: Self.flood)
        #expect(simulation.probe.verdict == .helps)

        // Paced at 1,000 per second, under what an unpaced server took: the verdict is
        // checked again within a second and a half, and pacing stops.
        simulation.run(milliseconds: 1_500, rate: Self.steady)
        #expect(simulation.probe.verdict == .doesNotHelp)
        // A new verdict is confirmed a second later: only that probe's trial may pace.
        #expect(!simulation.lastPaced || simulation.probe.isProbing)
    }

    @Test func steadyLoadThatTurnsIntoFloodIsCheckedAgain() {
        var simulation = Simulation()
        simulation.run(milliseconds: 10_000, rate: Self.steady)
        #expect(simulation.probe.verdict == .doesNotHelp)

        // The rate rises well past the one measured (executions still run freely, with no
        // backlog yet): checked again within a second and a half.
        simulation.run(milliseconds: 1_500) { $0 == .paced ? 8_000 : 3_300 }
        #expect(simulation.probe.verdict == .helps)
        #expect(simulation.lastPaced || simulation.probe.isProbing)
    }

    @Test func requestsThatStopShowNoGain() {
        var simulation = Simulation()
        simulation.run(milliseconds: 400) { _ in 0 }

        #expect(simulation.probe.verdict == .doesNotHelp)
    }

    @Test func smallGainIsNotEnough() {
        var simulation = Simulation()
        simulation.run(milliseconds: 400) { $0 == .paced ? 1_200 : 1_000 }

        #expect(simulation.probe.verdict == .doesNotHelp)
    }

    /// A probe that starts while executions are paced does not let them drain the backlog
    /// freely, which would hold the requests back and make pacing look better than it is.
    @Test func probeNeverRunsFree() {
        var simulation = Simulation()
        simulation.run(milliseconds: 10_000, rate: Self.flood)

        #expect(simulation.probe.probeCount >= 3)
        #expect(!simulation.modes.contains(.free))
    }

    /// Windows with too few commits to measure a gain end the probe without finding one.
    @Test func fewCommitsShowNoGain() {
        var simulation = Simulation()
        simulation.run(milliseconds: 400) { $0 == .paced ? 150 : 50 }

        #expect(simulation.probe.verdict == .doesNotHelp)
    }

    /// A probe whose phase saw no call for longer than a phase lasts starts again, instead of
    /// measuring a window that spans the gap.
    @Test func staleProbeStartsAgain() {
        var simulation = Simulation()
        simulation.run(milliseconds: 100, rate: Self.steady)
        #expect(simulation.probe.isProbing)

        simulation.now += 10_000_000_000
        simulation.run(milliseconds: 5, rate: Self.steady)
        #expect(simulation.probe.isProbing)
        #expect(simulation.probe.probeCount == 0)

        simulation.run(milliseconds: 400, rate: Self.steady)
        #expect(simulation.probe.verdict == .doesNotHelp)
    }

    /// Checks that the load prompts come at least a second after the last verdict.
    @Test func earlyChecksAreSpacedOut() {
        var simulation = Simulation()
        simulation.run(milliseconds: 400, rate: Self.flood)
        #expect(simulation.probe.probeCount == 1)

        // The rate falls at once under what pacing reached, though not to what keeping up
        // reached, but the check waits for 1 s.
        simulation.run(milliseconds: 600) { _ in 5_000 }
        #expect(simulation.probe.probeCount == 1)
        #expect(!simulation.probe.isProbing)
        simulation.run(milliseconds: 700) { _ in 5_000 }
        #expect(simulation.probe.probeCount == 2)
        #expect(simulation.probe.reversalCount == 0)
    }

    /// Clients that send on a schedule, 600 requests per second in all, and send what they
    /// owe at once when they fell behind. Paced, the server takes 1,600 requests per second and
    /// runs 1 execution per 100; keeping up, 566. Free, it takes 590 while no backlog is left,
    /// and 300 while its executions drain one, at 900 executions per second beyond the requests'.
    struct ScheduledClients {
        var probe = PacingProbe()
        var now: UInt64 = 1_000_000_000
        var completed = 0.0
        var owed = 0.0
        var backlog = 0.0
        var smoothed = 0.0
        var pacedMilliseconds = 0
        /// The backlog of executions, sampled every 5 ms.
        var backlogs: [Double] = []

        mutating func run(milliseconds: Int) {
            for _ in 0..<(milliseconds / 5) {
                let mode = probe.mode(now: now, completed: Int(completed), waiting: 16, requestRate: smoothed)
                owed += 600 * 0.005
                let capacity: Double = switch mode {
                case .paced: 1_600
                case .keepingUp: 566
                case .free: backlog > 0 ? 300 : 590
                }
                let sent = min(owed, capacity * 0.005)
                owed -= sent
                completed += sent
                switch mode {
                case .paced: backlog += sent * 0.99
                case .keepingUp: break
                case .free: backlog = max(backlog - 900 * 0.005, 0)
                }
                smoothed = 0.9 * smoothed + 0.1 * sent / 0.005
                if mode == .paced { pacedMilliseconds += 5 }
                backlogs.append(backlog)
                now += 5_000_000
            }
        }
    }

    /// Paced, such clients come faster only until they have caught up: a probe takes that for
    /// a gain, and the rate right after shows that it was none.
    @Test func clientsCatchingUpAreNotPacedForLong() {
        var clients = ScheduledClients()
        clients.run(milliseconds: 60_000)

        #expect(clients.probe.reversalCount >= 1)
        // Paced 48% of the time, with up to 4,500 executions put off, when only a probe could reverse the finding.
        #expect(Double(clients.pacedMilliseconds) / 60_000 < 0.1)
        // The executions a paced phase put off are drained within a second or so.
        let sorted = clients.backlogs.sorted()
        #expect(sorted[sorted.count * 99 / 100] < 1_000)
    }

    /// A flood whose rate dips (a stall of the disk) after its gain has lasted is reversed,
    /// but checked again a second later each time: the backoff of reversals is for gains that
    /// never lasted.
    @Test func floodDipsCostASecondEach() {
        var simulation = Simulation()
        simulation.run(milliseconds: 10_000, rate: Self.flood)
        #expect(simulation.probe.verdict == .helps)

        for dip in 1...4 {
            simulation.run(milliseconds: 300) { _ in 1_000 }
            let pacedBefore = simulation.pacedMilliseconds
            simulation.run(milliseconds: 3_000, rate: Self.flood)

            #expect(simulation.probe.reversalCount <= dip)
            #expect(simulation.pacedMilliseconds - pacedBefore >= 1_500)
            #expect(simulation.probe.verdict == .helps)
        }
    }

    /// A recheck probe cancelled in its keeping-up phase leaves that phase's low rate in the
    /// smoothed rate: the lasting-gain check waits 400 ms after it instead of reversing at once.
    @Test func cancelledRecheckDoesNotReverse() {
        var simulation = Simulation()
        // The finding comes at 0.3 s, its first check at 1.3 s: 150 ms paced, then keeping up.
        simulation.run(milliseconds: 1_450, rate: Self.flood)
        #expect(simulation.probe.isProbing)

        simulation.probe.cancel()
        // The keeping-up windows are still in the smoothed rate for a moment.
        simulation.run(milliseconds: 100) { _ in 3_300 }
        simulation.run(milliseconds: 1_000, rate: Self.flood)

        #expect(simulation.probe.reversalCount == 0)
    }

    @Test func cancelDropsProbeUnderWay() {
        var simulation = Simulation()
        simulation.run(milliseconds: 50, rate: Self.flood)
        #expect(simulation.probe.isProbing)

        simulation.probe.cancel()
        #expect(!simulation.probe.isProbing)
        #expect(simulation.probe.probeCount == 0)
    }
}
