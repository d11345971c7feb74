import CSystem
import Glibc

/// Tuning of the workflow engine's queue, limits and webhook delivery.
public struct WorkflowEngineConfiguration: Sendable {
    /// Threads that execute events; events of different roots run in parallel on them.
    /// By default one fewer than the online processors, at least one: the single database
    /// writer commits every execution, and workers that share its processor slow it down.
    /// With four workers on two cores, the writer waited for a processor 30% of the time.
    /// A backlog of ConfirmPick events drained at 3,200 to 3,500 per second with them, and at
    /// 4,200 to 4,600 with one worker.
    public var workerCount: Int = WorkflowEngineConfiguration.defaultWorkerCount()
    public var limits = ExecutionLimits()
    /// The maximum number of events of one root that may execute before the earlier ones
    /// committed. They commit in order, so a busy root (an inventory feed of one catalogue)
    /// does not wait for one commit per event.
    public var maxUncommittedPerRoot: Int = 64
    /// The maximum number of events executing or waiting for their commit, over all roots.
    /// Workers wait when it is reached, so executions cannot pile up in the writer's queue.
    public var maxUncommitted: Int = 1024
    /// Whether executions are paced while requests press and pacing raises their rate (see
    /// `ExecutionPacing` and `PacingProbe`); when false, an event executes as soon as a worker is free.
    public var executionPacing = true
    /// Executions started per committed request while requests press (see `ExecutionPacing`):
    /// a burst of requests is accepted first, and its events execute as the burst ends.
    /// Raised to `ExecutionPacing.minimumShare` when lower.
    public var executionShareUnderLoad: Double = 0.01
    /// Requests waiting for a database commit from which they press, and executions are paced.
    public var busyRequestThreshold: Int = 16
    /// Committed requests per second under which executions are never paced, however many
    /// requests wait (see `ExecutionPacing`). With 0, any rate may be paced.
    public var pacingMinimumRequestRate: Int = 0
    /// Queued events (in memory and left in the database) past which executions are not paced
    /// any more, until the backlog is back under half of it. It bounds the delay a burst can cost.
    public var deferredBacklogLimit: Int = 500_000
    /// Events held in the memory queue; past it, accepted events wait PENDING in the database
    /// and are reloaded in commit order (see `EngineQueue`). About 1 KiB of memory each.
    public var queueMemoryLimit: Int = 10_000
    /// How long `POST /event/sync` waits for its event to be processed, in milliseconds.
    public var syncTimeoutMilliseconds: Int = 10_000
    public var webhooks = WebhookConfiguration()

    public init() {}
}

/// Webhook delivery: attempts, back-off and timeouts.
public struct WebhookConfiguration: Sendable {
    /// Attempts per webhook, the first one included; after the last failure it is FAILED.
    public var maxAttempts: Int = 8
    /// Delay before the second attempt, in milliseconds; doubled for each later one.
    public var initialBackoffMilliseconds: Int = 1000
    /// The maximum delay between two attempts, in milliseconds.
    public var maxBackoffMilliseconds: Int = 300_000
    /// Time allowed to open the TCP connection, in milliseconds.
    public var connectTimeoutMilliseconds: Int = 2000
    /// Time allowed for the whole request and the response head, in milliseconds.
    public var requestTimeoutMilliseconds: Int = 10_000
    /// Webhooks delivered at the same time.
    public var concurrentDeliveries: Int = 4
    /// Webhooks delivered at the same time to one receiver (host and port), so a receiver that
    /// hangs cannot take every slot from the others.
    public var concurrentDeliveriesPerReceiver: Int = 2
    /// Time `stop()` waits for attempts in flight, in milliseconds. An attempt still running
    /// after it stays PENDING in the outbox and runs again after the next start.
    public var shutdownGraceMilliseconds: Int = 500

    public init() {}

    /// Returns the delay after failed attempt number `attempt` (from 1), in milliseconds.
    public func backoff(afterAttempt attempt: Int) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 30)
        let delay = Int64(initialBackoffMilliseconds) << Int64(exponent)
        return min(delay, Int64(maxBackoffMilliseconds))
    }
}

extension WorkflowEngineConfiguration {
    /// Returns one fewer than the CPUs the process may run on, at least one. Those are counted
    /// by sched_getaffinity(2), so `taskset` and cpusets lower the count; the online count
    /// (sysconf(_SC_NPROCESSORS_ONLN)) is the fallback.
    /// NOTE: a CPU quota (cgroup `cpu.max`, `docker --cpus`) is not read: a container limited
    /// to 2 CPUs of a 32-core host gets 31 workers. Set `workflowWorkers` there.
    public static func defaultWorkerCount() -> Int {
        let available = Int(cs_available_cpus())
        let cpus = available > 0 ? available : Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, cpus - 1)
    }
}
