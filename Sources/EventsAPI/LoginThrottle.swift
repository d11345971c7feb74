import Synchronization
import Telemetry

/// Slows down and then rejects repeated failed logins, per username and per client address.
///
/// Within the window, the first `freeFailures` failures of a key cost nothing. Each later one
/// delays the next response by `delayStepMilliseconds` more, up to `maximumDelayMilliseconds`.
/// From `rejectAfter` failures on, requests get 429 without a password check until the window,
/// counted from the first failure, ends.
///
/// `reserve` counts an attempt as a failure before its password is checked, so guesses sent in
/// parallel for one user or from one address are limited like guesses sent one after another.
/// A successful login then clears the username's count and takes back only its own attempt
/// from the address's count, so one valid account cannot reset an address that is guessing others.
///
/// NOTE: the counts are kept in memory only, so a restart clears them.
public final class LoginThrottle: Sendable {
    public struct Configuration: Sendable {
        public var freeFailures = 5
        public var rejectAfter = 10
        /// In milliseconds.
        public var windowMilliseconds: Int64 = 15 * 60 * 1000
        /// In milliseconds.
        public var delayStepMilliseconds = 500
        /// In milliseconds.
        public var maximumDelayMilliseconds = 5000
        /// Keys tracked at most; past this, keys whose window ended are dropped first.
        public var maximumKeys = 100_000

        public init() {}
    }

    /// The action for a login request, decided before its credentials are checked.
    public enum Decision: Sendable, Equatable {
        /// Check the credentials, then respond after `delayMilliseconds`.
        case proceed(delayMilliseconds: Int)
        /// Respond 429 with `Retry-After` in seconds.
        case reject(retryAfterSeconds: Int)
    }

    private struct Entry {
        var failures: Int
        var windowStart: Int64
    }

    public let configuration: Configuration
    private let entries = Mutex<[String: Entry]>([:])
    private let clock: @Sendable () -> Int64

    public init(configuration: Configuration = Configuration(),
                clock: @escaping @Sendable () -> Int64 = { TimeFormat.nowMilliseconds() }) {
        self.configuration = configuration
        self.clock = clock
    }

    /// Decides for a login of `username` from `address`, by the worse of the two counts, without
    /// counting it.
    public func check(username: String, address: String) -> Decision {
        let now = clock()
        return entries.withLock { entries in
            decide(&entries, username: username, address: address, now: now)
        }
    }

    /// Decides like `check` and, unless the decision is `.reject`, counts the attempt as a failure
    /// at once. Call `recordSuccess` when the credentials turn out valid.
    public func reserve(username: String, address: String) -> Decision {
        let now = clock()
        return entries.withLock { entries in
            let decision = decide(&entries, username: username, address: address, now: now)
            if case .proceed = decision {
                addFailure(&entries, username: username, address: address, now: now)
            }
            return decision
        }
    }

    public func recordFailure(username: String, address: String) {
        let now = clock()
        entries.withLock { entries in
            addFailure(&entries, username: username, address: address, now: now)
        }
    }

    /// Clears the username's count and takes back the one attempt that `reserve` added to the
    /// address's count.
    public func recordSuccess(username: String, address: String) {
        let now = clock()
        entries.withLock { entries in
            entries["user:" + username] = nil
            removeOneFailure(&entries, key: "address:" + address, now: now)
        }
    }

    /// Takes back the attempt that `reserve` counted, for a request that was never checked.
    public func release(username: String, address: String) {
        let now = clock()
        entries.withLock { entries in
            removeOneFailure(&entries, key: "user:" + username, now: now)
            removeOneFailure(&entries, key: "address:" + address, now: now)
        }
    }

    private func removeOneFailure(_ entries: inout [String: Entry], key: String, now: Int64) {
        let failures = currentFailures(&entries, key: key, now: now)
        if failures <= 1 {
            entries[key] = nil
        } else {
            entries[key]!.failures = failures - 1
        }
    }

    private func decide(_ entries: inout [String: Entry], username: String, address: String, now: Int64) -> Decision {
        let failures = max(currentFailures(&entries, key: "user:" + username, now: now),
                           currentFailures(&entries, key: "address:" + address, now: now))
        let windowEnd = max(entries["user:" + username]?.windowStart ?? 0, entries["address:" + address]?.windowStart ?? 0)
            + configuration.windowMilliseconds

        if failures >= configuration.rejectAfter {
            return .reject(retryAfterSeconds: Int(max(1, (windowEnd - now + 999) / 1000)))
        }
        let excess = failures - configuration.freeFailures + 1
        guard excess > 0 else { return .proceed(delayMilliseconds: 0) }
        return .proceed(delayMilliseconds: min(configuration.maximumDelayMilliseconds, excess * configuration.delayStepMilliseconds))
    }

    private func addFailure(_ entries: inout [String: Entry], username: String, address: String, now: Int64) {
        if entries.count >= configuration.maximumKeys {
            entries = entries.filter { now - $0.value.windowStart < configuration.windowMilliseconds }
        }
        for key in ["user:" + username, "address:" + address] {
            let failures = currentFailures(&entries, key: key, now: now)
            let start = failures == 0 ? now : entries[key]!.windowStart
            entries[key] = Entry(failures: failures + 1, windowStart: start)
        }
    }

    private func currentFailures(_ entries: inout [String: Entry], key: String, now: Int64) -> Int {
        guard let entry = entries[key] else { return 0 }
        if now - entry.windowStart >= configuration.windowMilliseconds {
            entries[key] = nil
            return 0
        }
        return entry.failures
    }
}
