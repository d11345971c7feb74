import Foundation
import Glibc
import Telemetry

/// Gauges of the process itself under the names Prometheus client libraries use, read from
/// `/proc/self` (proc(5)) each time the metrics are rendered.
public enum OperationsProcessMetrics {
    /// Registers `process_resident_memory_bytes`, `process_open_fds`, `process_threads` and
    /// `process_start_time_seconds`.
    public static func register(in registry: MetricsRegistry = .shared) {
        let startTime = Double(TimeFormat.nowMilliseconds()) / 1000
        registry.gauge("process_start_time_seconds", help: "Start time of the process since the Unix epoch, in seconds.") {
            startTime
        }
        registry.gauge("process_resident_memory_bytes", help: "Resident memory size of the process, in bytes.") {
            residentBytes()
        }
        registry.gauge("process_open_fds", help: "Open file descriptors of the process, sockets included.") {
            Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
        }
        registry.gauge("process_threads", help: "Threads of the process.") {
            statusField("Threads:") ?? 0
        }
    }

    /// Reads the resident pages from `/proc/self/statm` and returns them in bytes.
    static func residentBytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Reads the number after `name` in `/proc/self/status`, or returns nil.
    static func statusField(_ name: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return Double(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
