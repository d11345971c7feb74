import Telemetry

enum TimeFormatParse {
    static func milliseconds(_ text: String) -> Int64 {
        TimeFormat.parseISO8601(text)!
    }
}
