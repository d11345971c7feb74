/// Finds out whether pacing executions raises the rate of committed requests, by measuring
/// that rate with executions paced and with executions keeping up with the requests, one after
/// the other, while requests press.
///
/// Pacing trades queue latency for ingest: it is worth it only while the engine's executions
/// hold the requests back, through CPU or the writer. When the requests are limited by their
/// clients or by the disk's flush, pacing cannot raise their rate and only puts the engine
/// behind. The other mode of a probe lets executions keep up: one starts per committed request,
/// as in an engine that is not behind. A backlog left by pacing therefore does not drain during
/// the measurement, which would hold the requests back and flatter pacing. Each mode runs `settleNanoseconds` (executions in
/// flight finish or start), then its rate is measured for `measureNanoseconds`. Pacing helps
/// when the paced rate is at least `requiredGain` times the other.
///
/// A finding that pacing helps must also last. From `sustainNanoseconds` after it, a smoothed
/// request rate under `sustainedGain` times the rate measured keeping up reverses it without a
/// new probe. A cancelled probe restarts that wait, since its windows are still in the smoothed rate. Clients that send at a fixed rate and fell behind catch up as soon as executions
/// are paced, which a probe takes for a gain, and once they have caught up they send no faster
/// than before. Checks after such reversals back off, so these clients are paced for a small
/// part of the time only. A gain that lasted `firstRecheckNanoseconds` ends the backoff, so a
/// flood whose rate dips once (a stall of the disk) is checked again 1 s after its reversal.
///
/// NOTE: a flood whose rate dips again within 1 s of each new finding is reversed each time,
/// with a doubling backoff. With a disk that stalls for 200 ms every second, a model of such a
/// flood ran paced 6% of the time. Requiring the rate to stay under the bound
/// for 200 ms spares such a flood, but in runs at 600 ConfirmPick/s it also kept every
/// catch-up from being reversed (p99 up to 5.6 s), so it is not done.
///
/// A verdict is kept until it is checked again: after `firstRecheckNanoseconds`, doubling each
/// time a check agrees with it (to at least `confirmedHelpsRecheckNanoseconds` when it agrees
/// that pacing helps), up to `longestRecheckNanoseconds`. It is checked earlier, though
/// not within `firstRecheckNanoseconds` of the last verdict, when the load moves out of line
/// with it. While pacing, that is a smoothed request rate under the paced rate measured divided
/// by `requiredGain`. While not, it is a rate over `requiredGain` times the rate measured
/// keeping up, or more than twice as many waiting requests as at the verdict (and more than
/// `minimumWaitingForRecheck`): executions that run freely can hold a flood's rate down, but
/// not its clients. A window with fewer than `minimumCommits` commits is too small to measure
/// a gain, and ends the probe with the verdict that pacing does not help. `ExecutionPacing`
/// cancels a probe when requests stop pressing, and makes the probe forget that pacing helps
/// once requests have not pressed for a while.
///
/// NOTE: the two modes are measured one after the other, so a load that rises during a probe
/// that starts keeping up looks like a gain (and one that falls during a probe that starts
/// paced confirms one). The next check, 1 s later, measures again.
///
/// A plain value, driven by `ExecutionPacing`, with times from its monotonic clock in nanoseconds.
struct PacingProbe {
    enum Verdict: Equatable {
        case unknown
        case helps
        case doesNotHelp
    }

    /// The rule by which workers start executions.
    enum Mode: Equatable {
        /// As soon as a worker is free.
        case free
        /// One per committed request.
        case keepingUp
        /// The pacing's share per committed request.
        case paced
    }

    /// How long each mode's rate is measured.
    static let measureNanoseconds: UInt64 = 100_000_000
    /// How long a mode runs before its rate is measured.
    static let settleNanoseconds: UInt64 = 50_000_000
    /// How much higher the paced rate must be for pacing to help.
    static let requiredGain = 1.3
    static let firstRecheckNanoseconds: UInt64 = 1_000_000_000
    /// The minimum time to the next check once a check confirmed that pacing helps. A confirmed
    /// finding needs fewer checks: the request rate must keep its gain all along
    /// (`sustainedGain`), or the finding is reversed without a probe. Each check runs
    /// executions one per request for 150 ms, which under a flood of 20,000 requests per
    /// second is about 1,500 executions. The first check still comes after
    /// `firstRecheckNanoseconds`: a load that rose during the probe looks like a gain that
    /// lasts, and only a probe tells the two apart.
    static let confirmedHelpsRecheckNanoseconds: UInt64 = 4_000_000_000
    static let longestRecheckNanoseconds: UInt64 = 32_000_000_000
    /// Commits that each measured window needs for its rate to count.
    static let minimumCommits = 16
    /// Waiting requests under which a rise in their number never triggers a check.
    static let minimumWaitingForRecheck = 8
    /// How long after finding that pacing helps the request rate must show the gain.
    static let sustainNanoseconds: UInt64 = 400_000_000
    /// The part of the gain the request rate must keep while paced: half of `requiredGain`'s.
    static let sustainedGain = 1.15

    private(set) var verdict = Verdict.unknown
    /// The rates of the last completed probe, in committed requests per second.
    private(set) var pacedRate = 0.0
    private(set) var keepingUpRate = 0.0
    /// Completed probes, for the log and for tests.
    private(set) var probeCount = 0

    /// One mode of a probe: settling while `completed` is nil, then measuring.
    private struct Phase {
        var mode: Mode
        var start: UInt64
        var completed: Int?
    }

    /// The phase under way, and the rate the first phase measured when this is the second.
    private var phase: Phase?
    private var firstRate: Double?
    /// The commits counted by the first phase, when this is the second.
    private var firstCommits = 0
    private var lastVerdictAt: UInt64 = 0
    private var recheckInterval = PacingProbe.firstRecheckNanoseconds
    /// Requests waiting for a commit when the last verdict was reached.
    private var waitingAtVerdict = 0
    /// The next check after a finding that pacing helps is reversed for want of a lasting gain.
    private var reversalBackoff = PacingProbe.firstRecheckNanoseconds
    /// When the request rate starts to be held to a finding that pacing helps: `sustainNanoseconds`
    /// after the finding, or after a cancelled probe, whose phases are still in the smoothed rate.
    private var sustainFrom: UInt64 = 0
    private var cancelledProbe = false
    /// Findings reversed for want of a lasting gain, for the log and for tests.
    private(set) var reversalCount = 0

    /// True while a probe runs: its mode applies whether or not requests still press.
    var isProbing: Bool { phase != nil }

    /// Returns the mode in which executions start now. Call it while requests press, and while
    /// `isProbing`. `completed` counts committed requests, `waiting` the requests waiting for a
    /// commit, and `requestRate` is the recent rate of committed requests per second, smoothed.
    mutating func mode(now: UInt64, completed: Int, waiting: Int, requestRate: Double) -> Mode {
        if let phase, now &- phase.start > 2 * PacingProbe.measureNanoseconds {
            // No call for longer than a phase lasts (the queue was empty): its window would
            // span the gap.
            cancel()
        }
        guard var phase else {
            if cancelledProbe {
                cancelledProbe = false
                sustainFrom = max(sustainFrom, now + PacingProbe.sustainNanoseconds)
            }
            if verdict == .helps, now >= sustainFrom {
                if requestRate < keepingUpRate * PacingProbe.sustainedGain {
                    reverse(now: now, waiting: waiting)
                    return .free
                }
                if now &- lastVerdictAt >= PacingProbe.firstRecheckNanoseconds {
                    // The gain lasted: a later reversal is a dip of a real flood, checked again soon.
                    reversalBackoff = PacingProbe.firstRecheckNanoseconds
                }
            }
            guard isDue(now: now, waiting: waiting, requestRate: requestRate) else { return verdict == .helps ? .paced : .free }
            self.phase = Phase(mode: verdict == .helps ? .paced : .keepingUp, start: now)
            firstRate = nil
            return self.phase!.mode
        }

        guard let startCompleted = phase.completed else {
            if now &- phase.start >= PacingProbe.settleNanoseconds {
                phase.start = now
                phase.completed = completed
                self.phase = phase
            }
            return phase.mode
        }
        let elapsed = now &- phase.start
        guard elapsed >= PacingProbe.measureNanoseconds else { return phase.mode }

        let commits = max(completed - startCompleted, 0)
        let rate = Double(commits) * 1e9 / Double(elapsed)
        guard let firstRate else {
            self.firstRate = rate
            firstCommits = commits
            self.phase = Phase(mode: phase.mode == .paced ? .keepingUp : .paced, start: now)
            return self.phase!.mode
        }
        let paced = phase.mode == .paced ? rate : firstRate
        let keepingUp = phase.mode == .paced ? firstRate : rate
        let measurable = min(commits, firstCommits) >= PacingProbe.minimumCommits
        conclude(pacedRate: paced, keepingUpRate: keepingUp, measurable: measurable, waiting: waiting, now: now)
        return verdict == .helps ? .paced : .free
    }

    /// Forgets the verdict and any probe under way: requests stopped pressing long enough ago
    /// that the next pressure may have another cause.
    mutating func forget() {
        cancel()
        verdict = .unknown
        recheckInterval = PacingProbe.firstRecheckNanoseconds
        reversalBackoff = PacingProbe.firstRecheckNanoseconds
    }

    /// Called while requests have not pressed for a while: drops a finding that pacing helps,
    /// and the backoff of reversals. A finding that it does not help is kept until its check.
    mutating func quiet() {
        if verdict == .helps {
            forget()
        } else {
            reversalBackoff = PacingProbe.firstRecheckNanoseconds
        }
    }

    /// Reverses a finding that pacing helps, without measuring again: paced, the requests came
    /// no faster than keeping up. Clients that send at a fixed rate and fell behind catch up as
    /// soon as executions are paced, and during a probe that looks like a gain, one that lasts
    /// only until they have caught up. A probe would find the same again at once, so checks
    /// after a reversal back off, doubling up to `longestRecheckNanoseconds`.
    private mutating func reverse(now: UInt64, waiting: Int) {
        verdict = .doesNotHelp
        recheckInterval = reversalBackoff
        reversalBackoff = min(reversalBackoff * 2, PacingProbe.longestRecheckNanoseconds)
        lastVerdictAt = now
        waitingAtVerdict = waiting
        reversalCount += 1
    }

    /// Drops a probe under way, whose rates would mix with a mode it did not choose.
    mutating func cancel() {
        if phase != nil { cancelledProbe = true }
        phase = nil
        firstRate = nil
    }

    /// Tells whether the verdict is checked now: there is none yet, it is old, or the load is
    /// out of line with it.
    private func isDue(now: UInt64, waiting: Int, requestRate: Double) -> Bool {
        if verdict == .unknown { return true }
        let sinceVerdict = now &- lastVerdictAt
        if sinceVerdict >= recheckInterval { return true }
        guard sinceVerdict >= PacingProbe.firstRecheckNanoseconds else { return false }
        if verdict == .helps {
            return requestRate < pacedRate / PacingProbe.requiredGain
        }
        let moreWaiting = waiting > 2 * max(waitingAtVerdict, PacingProbe.minimumWaitingForRecheck)
        return requestRate > keepingUpRate * PacingProbe.requiredGain || moreWaiting
    }

    private mutating func conclude(pacedRate: Double, keepingUpRate: Double, measurable: Bool, waiting: Int, now: UInt64) {
        let found: Verdict = measurable && pacedRate >= keepingUpRate * PacingProbe.requiredGain ? .helps : .doesNotHelp
        if found == verdict {
            let doubled = recheckInterval * 2
            let next = found == .helps ? max(doubled, PacingProbe.confirmedHelpsRecheckNanoseconds) : doubled
            recheckInterval = min(next, PacingProbe.longestRecheckNanoseconds)
        } else {
            recheckInterval = PacingProbe.firstRecheckNanoseconds
        }
        verdict = found
        sustainFrom = now + PacingProbe.sustainNanoseconds
        self.pacedRate = pacedRate
        self.keepingUpRate = keepingUpRate
        lastVerdictAt = now
        waitingAtVerdict = waiting
        probeCount += 1
        phase = nil
        firstRate = nil
    }
}
