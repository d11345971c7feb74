import Foundation

/// A fixed set of threads that run `.blocking` handlers, so a handler that waits on the
/// database never stalls an event loop. The queue is bounded: `submit` returns false when
/// `queueLimit` jobs already wait for a free thread, and the caller then responds with 503.
final class WorkerPool: @unchecked Sendable {
    // Every stored property below is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var jobsHead = 0
    private var idleThreads = 0
    private var runningJobs = 0
    private var stopping = false
    private var liveThreads = 0

    let threadCount: Int
    let queueLimit: Int

    init(threadCount: Int, queueLimit: Int) {
        self.threadCount = threadCount
        self.queueLimit = queueLimit
    }

    func start() {
        condition.lock()
        liveThreads = threadCount
        condition.unlock()
        for index in 0..<threadCount {
            let thread = Thread { [self] in work() }
            thread.name = "http-worker-\(index)"
            thread.start()
        }
    }

    /// Queues `job`. Returns false when the queue is full or the pool is stopping.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let waiting = jobs.count - jobsHead
        // Up to `idleThreads` jobs are taken by a thread at once, so they do not count as waiting.
        guard !stopping, waiting < queueLimit + idleThreads else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Whether the calling thread is one of this pool's threads.
    var isCurrentThreadWorker: Bool {
        (Thread.current.threadDictionary[WorkerPool.threadKey] as? Int) == ObjectIdentifier(self).hashValue
    }

    private static let threadKey = "HTTP.WorkerPool"

    /// The jobs waiting for a thread, for metrics.
    var queuedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - jobsHead
    }

    /// Lets queued and running jobs finish until `deadline` (monotonic nanoseconds), then
    /// stops the threads. Returns the number of jobs still queued or running at the deadline.
    func shutdown(deadline: UInt64) -> Int {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        while liveThreads > 0 {
            let now = monotonicNanoseconds()
            if now >= deadline { break }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
        }
        return jobs.count - jobsHead + runningJobs
    }

    private func work() {
        Thread.current.threadDictionary[WorkerPool.threadKey] = ObjectIdentifier(self).hashValue
        condition.lock()
        while true {
            if jobsHead < jobs.count {
                let job = jobs[jobsHead]
                jobsHead += 1
                if jobsHead > 1_024 && jobsHead * 2 > jobs.count {
                    jobs.removeFirst(jobsHead)
                    jobsHead = 0
                }
                runningJobs += 1
                condition.unlock()
                job()
                condition.lock()
                runningJobs -= 1
                continue
            }
            if stopping { break }
            idleThreads += 1
            condition.wait()
            idleThreads -= 1
        }
        liveThreads -= 1
        condition.broadcast()
        condition.unlock()
    }

    private func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
