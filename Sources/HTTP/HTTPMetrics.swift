import Telemetry

/// The request counter and duration histogram of one event loop. Metric objects are looked up
/// in the shared registry once per label set and then kept here, so the hot path takes no lock
/// except the histogram's own.
final class HTTPMetrics {
    private struct CounterKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    static let durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private let registry: MetricsRegistry
    private var counters: [CounterKey: Counter] = [:]
    private var histograms: [String: Histogram] = [:]

    init(registry: MetricsRegistry) {
        self.registry = registry
    }

    /// The methods of RFC 9110 section 9 that get their own `method` label value.
    static let labeledMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]

    /// Returns the `method` label value: the method itself when it is a standard one, else
    /// `other`, so that clients sending made-up method tokens cannot create series without bound.
    static func methodLabel(_ method: HTTPMethod) -> String {
        labeledMethods.contains(method.rawValue) ? method.rawValue : "other"
    }

    /// Counts one request whose response was queued. `route` must be a registered pattern or
    /// `unmatched`, never a path sent by the client, so paths with ids do not create a series each.
    func record(route: String, method: HTTPMethod, status: Int, seconds: Double) {
        let methodLabel = HTTPMetrics.methodLabel(method)
        let key = CounterKey(route: route, method: methodLabel, status: status)
        let counter: Counter
        if let existing = counters[key] {
            counter = existing
        } else {
            counter = registry.counter("http_requests_total", help: "HTTP responses sent, by route pattern, method and status.",
                                       labels: [("route", route), ("method", methodLabel), ("status", String(status))])
            counters[key] = counter
        }
        counter.increment()

        let histogram: Histogram
        if let existing = histograms[route] {
            histogram = existing
        } else {
            histogram = registry.histogram("http_request_duration_seconds", help: "Time from the end of the request head to the response being queued for writing.",
                                           labels: [("route", route)], upperBounds: HTTPMetrics.durationBuckets)
            histograms[route] = histogram
        }
        histogram.observe(seconds)
    }
}
