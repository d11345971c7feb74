/// Decides when a worker may start an execution, so that a burst of requests is accepted first
/// and its events execute as the burst ends.
///
/// Requests start to press when `busyThreshold` of them wait for a database commit, and stop
/// when fewer than a quarter of that wait: running executions take CPU from the event loops, so
/// fewer requests reach the writer, and a single threshold would switch at every look. While
/// they press, executions are paced: every committed request earns `share` of an execution, and a
/// worker starts one only when a whole execution is earned. So under any load, executions keep
/// a rate of at least `share` times the rate of requests, and they run freely once requests
/// stop pressing. Past `backlogLimit` queued events, executions run freely until the queue is
/// back under half of it: a burst costs at most that many events of delay and of queue memory.
///
/// A plain value: `EngineQueue` guards it with its lock.
struct ExecutionPacing {
    /// Requests waiting for a commit, and requests completed since the writer started.
    typealias Load = @Sendable () -> (waiting: Int, completed: Int)

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
    private let load: Load

    /// True from the moment the queue passed `backlogLimit` until it is under half of it.
    private(set) var isCatchingUp = false
    /// True while the last decision paced an execution.
    private(set) var isPacing = false
    private var credit = 0.0
    private var lastCompleted: Int

    init(isEnabled: Bool = true, share: Double, busyThreshold: Int, backlogLimit: Int, load: @escaping Load) {
        self.isEnabled = isEnabled
        self.share = share >= ExecutionPacing.minimumShare ? share : ExecutionPacing.minimumShare
        self.busyThreshold = max(busyThreshold, 1)
        self.backlogLimit = max(backlogLimit, 1)
        self.load = load
        lastCompleted = load().completed
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

        let pressing = isPacing ? waiting >= max(busyThreshold / 4, 1) : waiting >= busyThreshold
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
