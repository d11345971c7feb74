import Synchronization

/// A monotonically increasing count. Cheap to increment from any thread.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    public func increment(by amount: Int = 1) {
        value.add(amount, ordering: .relaxed)
    }

    public var current: Int { value.load(ordering: .relaxed) }
}

/// A distribution over fixed bucket upper bounds, as Prometheus histograms expose it.
public final class Histogram: Sendable {
    public let upperBounds: [Double]
    private struct State {
        var bucketCounts: [Int]
        var sum: Double = 0
        var count = 0
    }
    private let state: Mutex<State>

    public init(upperBounds: [Double]) {
        self.upperBounds = upperBounds.sorted()
        self.state = Mutex(State(bucketCounts: Array(repeating: 0, count: upperBounds.count)))
    }

    public func observe(_ value: Double) {
        state.withLock { state in
            if let bucket = upperBounds.firstIndex(where: { value <= $0 }) {
                state.bucketCounts[bucket] += 1
            }
            state.sum += value
            state.count += 1
        }
    }

    /// Cumulative bucket counts, the sum and the count, as of now.
    public func snapshot() -> (cumulative: [Int], sum: Double, count: Int) {
        state.withLock { state in
            var running = 0
            let cumulative = state.bucketCounts.map { count -> Int in
                running += count
                return running
            }
            return (cumulative, state.sum, state.count)
        }
    }
}

/// The process's metrics, rendered in the Prometheus text exposition format (version 0.0.4).
///
/// Counters and histograms are created on first use and live for the process; callers on hot
/// paths keep the returned object instead of looking it up for every request.
public final class MetricsRegistry: Sendable {
    public static let shared = MetricsRegistry()

    private struct Family {
        var help: String
        var type: String
        var counters: [String: Counter] = [:]
        var histograms: [String: Histogram] = [:]
        var gauges: [String: @Sendable () -> Double] = [:]
    }

    private let families = Mutex<[String: Family]>([:])

    public init() {}

    /// Returns the counter `name` with `labels`, creating it at zero.
    public func counter(_ name: String, help: String, labels: [(String, String)] = []) -> Counter {
        let key = MetricsRegistry.labelText(labels)
        return families.withLock { families in
            var family = families[name] ?? Family(help: help, type: "counter")
            if let existing = family.counters[key] { return existing }
            let counter = Counter()
            family.counters[key] = counter
            families[name] = family
            return counter
        }
    }

    /// Returns the histogram `name` with `labels`; `upperBounds` applies when it is created.
    public func histogram(_ name: String, help: String, labels: [(String, String)] = [], upperBounds: [Double]) -> Histogram {
        let key = MetricsRegistry.labelText(labels)
        return families.withLock { families in
            var family = families[name] ?? Family(help: help, type: "histogram")
            if let existing = family.histograms[key] { return existing }
            let histogram = Histogram(upperBounds: upperBounds)
            family.histograms[key] = histogram
            families[name] = family
            return histogram
        }
    }

    /// Registers a gauge read when the metrics are rendered; a second registration replaces the first.
    public func gauge(_ name: String, help: String, labels: [(String, String)] = [], read: @escaping @Sendable () -> Double) {
        let key = MetricsRegistry.labelText(labels)
        families.withLock { families in
            var family = families[name] ?? Family(help: help, type: "gauge")
            family.gauges[key] = read
            families[name] = family
        }
    }

    /// Renders every metric in the Prometheus text format, families sorted by name.
    public func render() -> String {
        let copy = families.withLock { $0 }
        var text = ""
        for name in copy.keys.sorted() {
            let family = copy[name]!
            text += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.type)\n"
            for key in family.counters.keys.sorted() {
                text += "\(name)\(key.isEmpty ? "" : "{\(key)}") \(family.counters[key]!.current)\n"
            }
            for key in family.gauges.keys.sorted() {
                text += "\(name)\(key.isEmpty ? "" : "{\(key)}") \(MetricsRegistry.number(family.gauges[key]!()))\n"
            }
            for key in family.histograms.keys.sorted() {
                let histogram = family.histograms[key]!
                let snapshot = histogram.snapshot()
                let prefix = key.isEmpty ? "" : key + ","
                for (bound, count) in zip(histogram.upperBounds, snapshot.cumulative) {
                    text += "\(name)_bucket{\(prefix)le=\"\(MetricsRegistry.number(bound))\"} \(count)\n"
                }
                text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(snapshot.count)\n"
                text += "\(name)_sum\(key.isEmpty ? "" : "{\(key)}") \(MetricsRegistry.number(snapshot.sum))\n"
                text += "\(name)_count\(key.isEmpty ? "" : "{\(key)}") \(snapshot.count)\n"
            }
        }
        return text
    }

    static func labelText(_ labels: [(String, String)]) -> String {
        labels.map { name, value in
            let escaped = value.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll("\n", with: "\\n")
            return "\(name)=\"\(escaped)\""
        }.joined(separator: ",")
    }

    static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
