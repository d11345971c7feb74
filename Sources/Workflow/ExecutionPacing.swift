import Telemetry

/// Decides when a worker may start an execution, so that a burst of requests is accepted first
/// and its events execute as the burst ends.
///
/// Requests start to press when `busyThreshold` of them wait for a database commit, and stop
/// when fewer than a quarter of that wait: running executions take CPU from the event loops, so
/// fewer requests reach the writer, and a single threshold would switch at every look. Under a
/// flood (at least `floodRequestsPerSecond` committed, or once the probe found that pacing
/// helps), fewer wait for a moment between group commits. Workers that ran at each such moment
/// would execute several times the share, so there pacing ends only once the dip has lasted
/// `floodReleaseNanoseconds`. Otherwise it ends at once, so that queue latency stays low. While
/// they press, executions are paced: every committed request earns `share` of an execution, and a
/// worker starts one only when a whole execution is earned. So under any load, executions keep
/// a rate of at least `share` times the rate of requests, and they run freely once requests
/// stop pressing. Past `backlogLimit` queued events, executions run freely until the queue is
/// back under half of it: a burst costs at most that many events of delay and of queue memory.
/// Under `minimumRequestRate` committed requests per second, no probe starts and executions
/// are not paced. On a slow disk or CPU, a steady load that the engine keeps up with can still
/// keep many requests waiting, and pacing it would put the engine further behind for as long
/// as the load lasts. Above that rate, with a `PacingProbe`, requests that press are paced
/// only while the probe finds that pacing raises their rate. Without a probe, they are always
/// paced. Once the probe has found that pacing helps, the minimum rate no longer applies until
/// that finding is forgotten or reversed, because executions that run freely during a flood
/// can hold the rate under it.
///
/// A plain value: `EngineQueue` guards it with its lock.
struct ExecutionPacing {
    /// Requests waiting for a commit, and requests completed since the writer started.
    typealias Load = @Sendable () -> (waiting: Int, completed: Int)
    /// A monotonic clock, in nanoseconds.
    typealias Clock = @Sendable () -> UInt64

    /// The committed requests per second from which a dip in the load must last before pacing ends.
    static let floodRequestsPerSecond = 5_000.0
    /// How long a dip must last under a flood before pacing ends: 50 ms, many group commits.
    static let floodReleaseNanoseconds: UInt64 = 50_000_000

    /// How long requests must not press before the probe's finding that pacing helps is
    /// forgotten, so that a pressure that starts after such a pause is measured afresh. A
    /// finding that it does not help is kept: a flood that follows raises the rate or the
    /// number of waiting requests past it, which makes the probe check it.
    static let verdictLifetimeNanoseconds: UInt64 = 1_000_000_000

    /// The smallest share: one execution per 1,000 committed requests.
    static let minimumShare = 0.001
    /// Executions that may be earned ahead, so a quiet moment cannot fund a long run later.
    static let maximumCredit = 64.0

    enum Decision: Equatable {
        /// Start an execution now.
        case run
        /// Requests press and no execution is earned: look again shortly.
        case wait
    }

    /// When false, `decide` always answers `.run`.
    let isEnabled: Bool
    let share: Double
    let busyThreshold: Int
    let backlogLimit: Int
    /// Committed requests per second under which executions are not paced. With 0, any rate may be paced.
    let minimumRequestRate: Double
    private let load: Load
    /// Nil: requests that press are always paced.
    private(set) var probe: PacingProbe?

    /// True from the moment the queue passed `backlogLimit` until it is under half of it.
    private(set) var isCatchingUp = false
    /// The mode of the last decision.
    private(set) var mode = PacingProbe.Mode.free
    /// True while the last decision paced an execution, or kept executions to one per request.
    var isPacing: Bool { mode != .free }
    private var credit = 0.0
    /// Executions earned at one per committed request, for a probe's keeping-up mode.
    private var keepingUpCredit = 0.0
    /// The mode whose credit the last `.run` spent.
    private var lastSpent: PacingProbe.Mode?
    private var lastCompleted: Int
    private let clock: Clock
    /// When requests last pressed (at least a quarter of `busyThreshold` waiting, while pacing).
    private var lastPressed: UInt64 = 0
    /// The committed requests per second, measured over windows of `floodReleaseNanoseconds`.
    private var requestRate = 0.0
    /// `requestRate` smoothed over about four windows, for the probe.
    private var smoothedRate = 0.0

    /// The rate of committed requests per second, smoothed over about 200 ms.
    var smoothedRequestRate: Double { smoothedRate }
    private var windowStart: UInt64
    private var windowCompleted: Int

    init(isEnabled: Bool = true, share: Double, busyThreshold: Int, backlogLimit: Int, minimumRequestRate: Double = 0,
         probe: PacingProbe? = nil, load: @escaping Load, clock: @escaping Clock = { TimeFormat.monotonicNanoseconds() }) {
        self.isEnabled = isEnabled
        self.probe = probe
        self.clock = clock
        self.share = share >= ExecutionPacing.minimumShare ? share : ExecutionPacing.minimumShare
        self.busyThreshold = max(busyThreshold, 1)
        self.backlogLimit = max(backlogLimit, 1)
        self.minimumRequestRate = max(minimumRequestRate, 0)
        self.load = load
        lastCompleted = load().completed
        windowStart = clock()
        windowCompleted = lastCompleted
    }

    /// Decides for one execution, with `queued` events in the queue. A `.run` spends what it
    /// earned: call it only when an event can be taken, and `refund` when none was.
    mutating func decide(queued: Int) -> Decision {
        guard isEnabled else { return .run }
        if queued > backlogLimit {
            isCatchingUp = true
        } else if queued < backlogLimit / 2 {
            isCatchingUp = false
        }

        let (waiting, completed) = load()
        let newlyCompleted = Double(max(completed - lastCompleted, 0))
        credit = min(credit + share * newlyCompleted, ExecutionPacing.maximumCredit)
        keepingUpCredit = min(keepingUpCredit + newlyCompleted, ExecutionPacing.maximumCredit)
        lastCompleted = completed

        let now = clock()
        if now &- windowStart >= ExecutionPacing.floodReleaseNanoseconds {
            requestRate = Double(completed - windowCompleted) * 1e9 / Double(now &- windowStart)
            smoothedRate = smoothedRate == 0 ? requestRate : 0.75 * smoothedRate + 0.25 * requestRate
            windowStart = now
            windowCompleted = completed
        }

        // Measured before this look updates it: while the queue is empty, nothing looks.
        let quietFor = now &- lastPressed
        if quietFor >= ExecutionPacing.verdictLifetimeNanoseconds, var probe {
            probe.quiet()
            self.probe = probe
        }

        let pressing: Bool
        if requestRate < minimumRequestRate && probe?.verdict != .helps {
            // Executions that run freely hold the rate down: once pacing was found to raise
            // it, the minimum rate would keep a flood unpaced, so it no longer applies.
            pressing = false
        } else if waiting >= (isPacing ? max(busyThreshold / 4, 1) : busyThreshold) {
            lastPressed = now
            pressing = true
        } else {
            let isFlood = requestRate >= ExecutionPacing.floodRequestsPerSecond || probe?.verdict == .helps
            pressing = isPacing && isFlood && now &- lastPressed < ExecutionPacing.floodReleaseNanoseconds
        }

        // A probe goes on through a dip shorter than a flood's, and ends without a verdict
        // when requests stop pressing: its rates would not be the load's.
        let probeGoesOn = pressing || now &- lastPressed < ExecutionPacing.floodReleaseNanoseconds
        let mode: PacingProbe.Mode
        if isCatchingUp {
            probe?.cancel()
            mode = .free
        } else if var probe, pressing || (probe.isProbing && probeGoesOn) {
            mode = probe.mode(now: now, completed: completed, waiting: waiting, requestRate: smoothedRate)
            self.probe = probe
        } else {
            probe?.cancel()
            mode = pressing ? .paced : .free
        }

        // Each mode starts with what it earns from now on, not what requests earned before.
        if mode == .keepingUp && self.mode != .keepingUp {
            keepingUpCredit = 0
        }
        if mode == .paced && self.mode != .paced {
            credit = min(credit, 1)
        }
        self.mode = mode
        lastSpent = nil
        switch mode {
        case .free:
            return .run
        case .keepingUp:
            guard keepingUpCredit >= 1 else { return .wait }
            keepingUpCredit -= 1
        case .paced:
            guard credit >= 1 else { return .wait }
            credit -= 1
        }
        lastSpent = mode
        return .run
    }

    /// Gives back what the last `.run` spent, when no event could be taken after all.
    mutating func refund() {
        switch lastSpent {
        case .paced: credit += 1
        case .keepingUp: keepingUpCredit += 1
        case .free, nil: break
        }
        lastSpent = nil
    }
}
