import Testing
@testable import Telemetry

@Suite struct LogLineTests {
    @Test func logfmtQuotesOnlyWhenNeeded() {
        #expect(LogSink.logfmtValue("plain") == "plain")
        #expect(LogSink.logfmtValue("") == "\"\"")
        #expect(LogSink.logfmtValue("two words") == "\"two words\"")
        #expect(LogSink.logfmtValue("a=b") == "\"a=b\"")
    }

    @Test func injectedLineBreaksStayOnOneLine() {
        let value = LogSink.logfmtValue("x\nlevel=error msg=forged\r\u{7F}\u{01}\"\\")
        #expect(value == #""x\nlevel=error msg=forged\r\u007f\u0001\"\\""#)
        #expect(!value.contains("\n"))
        #expect(LogSink.jsonString("tab\there") == #""tab\there""#)
    }
}

@Suite struct TimeFormatTests {
    @Test func formatsMillisecondsInUTC() {
        #expect(TimeFormat.iso8601(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(TimeFormat.iso8601(milliseconds: 1_796_122_400_123) == "2026-12-01T10:53:20.123Z")
        #expect(TimeFormat.iso8601(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(TimeFormat.iso8601(milliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }

    @Test func parsesFractionsAndOffsetsAsInstants() {
        let base = TimeFormat.parseISO8601("2026-12-01T10:00:00Z")
        #expect(base == 1_796_119_200_000)
        #expect(TimeFormat.parseISO8601("2026-12-01T10:00:00.5Z") == 1_796_119_200_500)
        #expect(TimeFormat.parseISO8601("2026-12-01T10:00:00.00Z") == base)
        #expect(TimeFormat.parseISO8601("2026-12-01T10:00:00.123456789Z") == 1_796_119_200_123)
        #expect(TimeFormat.parseISO8601("2026-12-01T12:00:00+02:00") == base)
        #expect(TimeFormat.parseISO8601("2026-12-01T05:30:00-0430") == base)
        #expect(TimeFormat.parseISO8601("2026-12-01t10:00:00z") == base)
    }

    @Test func rejectsInvalidTimes() {
        let invalid = ["", "2026-12-01", "2026-12-01T10:00:00", "2026-12-01T10:00:00.Z", "2026-12-01T10:00:00.1234567890Z",
                       "2026-02-30T10:00:00Z", "2026-13-01T10:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T10:00:00+24:00",
                       "2026-12-01T10:00:00Zjunk", "2026-12-01 10:00:00Z", "+2026-12-01T10:00:00Z"]
        for text in invalid {
            #expect(TimeFormat.parseISO8601(text) == nil, "\(text)")
        }
    }

    @Test func roundTripsThroughText() {
        for milliseconds: Int64 in [0, 1, 999, 1_000, 86_399_999, 1_796_119_200_123, 4_102_444_800_000] {
            #expect(TimeFormat.parseISO8601(TimeFormat.iso8601(milliseconds: milliseconds)) == milliseconds)
        }
    }
}

@Suite struct MetricsTests {
    @Test func rendersPrometheusText() {
        let registry = MetricsRegistry()
        registry.counter("requests_total", help: "Requests.", labels: [("route", "/a\"b")]).increment(by: 3)
        let histogram = registry.histogram("latency_seconds", help: "Latency.", upperBounds: [0.1, 1])
        histogram.observe(0.05)
        histogram.observe(0.5)
        histogram.observe(5)
        registry.gauge("depth", help: "Depth.") { 7 }

        let text = registry.render()
        #expect(text.contains("# TYPE requests_total counter\nrequests_total{route=\"/a\\\"b\"} 3\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"0.1\"} 1\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"1\"} 2\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(text.contains("latency_seconds_count 3\n"))
        #expect(text.contains("# TYPE depth gauge\ndepth 7\n"))
    }

    @Test func sameLabelsShareOneCounter() {
        let registry = MetricsRegistry()
        let first = registry.counter("hits_total", help: "Hits.", labels: [("a", "1")])
        let second = registry.counter("hits_total", help: "Hits.", labels: [("a", "1")])
        first.increment()
        second.increment()
        #expect(first.current == 2)
    }

    @Test func rateLimiterCountsDroppedLines() {
        let limiter = LogRateLimiter(limit: 2, intervalSeconds: 10)
        #expect(limiter.admit(now: 1_000) == 0)
        #expect(limiter.admit(now: 1_001) == 0)
        #expect(limiter.admit(now: 1_002) == nil)
        #expect(limiter.admit(now: 1_003) == nil)
        #expect(limiter.admit(now: 11_000) == 2)
    }
}
