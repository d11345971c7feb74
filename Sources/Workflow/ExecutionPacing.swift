import Telemetry

/// Decides when a worker may start an execution, so that a burst of requests is accepted first
/// and its events execute as the burst ends.
///
/// Requests start to press when `busyThreshold` of them wait for a database commit, and stop
/// when fewer than a quarter of that wait: running executions take CPU from the event loops, so
/// fewer requests reach the writer, and a single threshold would switch at every look. Under a
/// flood (at least `floodRequestsPerSecond` committed), fewer wait for a moment between group
/// commits, and workers that ran at each such moment would execute several times the share:
/// there, pacing ends only once the dip has lasted `floodReleaseNanoseconds`. At lower rates,
/// which the engine keeps up with, it ends at once, so that queue latency stays low. While
/// they press, executions are paced: every committed request earns `share` of an execution, and a
/// worker starts one only when a whole execution is earned. So under any load, executions keep
/// a rate of at least `share` times the rate of requests, and they run freely once requests
/// stop pressing. Past `backlogLimit` queued events, executions run freely until the queue is
/// back under half of it: a burst costs at most that many events of delay and of queue memory.
/// Under `minimumRequestRate` committed requests per second, executions are never paced. On a
/// slow disk or CPU, a steady load that the engine keeps up with can still keep many requests
/// waiting, and pacing it would put the engine further behind for as long as the load lasts.
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

    /// True from the moment the queue passed `backlogLimit` until it is under half of it.
    private(set) var isCatchingUp = false
    /// True while the last decision paced an execution.
    private(set) var isPacing = false
    private var credit = 0.0
    private var lastCompleted: Int
    private let clock: Clock
    /// When requests last pressed (at least a quarter of `busyThreshold` waiting, while pacing).
    private var lastPressed: UInt64 = 0
    /// The committed requests per second, measured over windows of `floodReleaseNanoseconds`.
    private var requestRate = 0.0
    private var windowStart: UInt64
    private var windowCompleted: Int

    init(isEnabled: Bool = true, share: Double, busyThreshold: Int, backlogLimit: Int, minimumRequestRate: Double = 0,
         load: @escaping Load, clock: @escaping Clock = { TimeFormat.monotonicNanoseconds() }) {
        self.isEnabled = isEnabled
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
        credit = min(credit + share * Double(max(completed - lastCompleted, 0)), ExecutionPacing.maximumCredit)
        lastCompleted = completed

        let now = clock()
        if now &- windowStart >= ExecutionPacing.floodReleaseNanoseconds {
            requestRate = Double(completed - windowCompleted) * 1e9 / Double(now &- windowStart)
            windowStart = now
            windowCompleted = completed
        }

        let pressing: Bool
        if requestRate < minimumRequestRate {
            pressing = false
        } else if waiting >= (isPacing ? max(busyThreshold / 4, 1) : busyThreshold) {
            lastPressed = now
            pressing = true
        } else {
            pressing = isPacing && requestRate >= ExecutionPacing.floodRequestsPerSecond
                && now &- lastPressed < ExecutionPacing.floodReleaseNanoseconds
        }
        guard pressing, !isCatchingUp else {
            isPacing = false
            return .run
        }
        isPacing = true
        guard credit >= 1 else { return .wait }
        credit -= 1
        return .run
    }

    /// Gives back what the last `.run` spent, when no event could be taken after all.
    mutating func refund() {
        if isPacing { credit += 1 }
    }
}
