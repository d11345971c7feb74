import EventStore
import Telemetry

/// The query parameters of `GET /api/v4.1/event`, validated into an `EventQuery`.
///
/// Anything doubtful is a 400 that names the parameter and shows an accepted value, never a
/// silently widened search. That covers an unknown or repeated parameter, an empty value, a
/// `start` or `count` that is not a whole number in range, an unparsable time, `from` after `to`,
/// and an `eventType` or `eventStatus` that no event can have.
public enum EventListParameters {
    public static let defaultCount = 100
    public static let maximumCount = 5000
    /// The largest accepted `start`, so offsets stay far from integer overflow.
    public static let maximumStart = 1_000_000_000
    /// Without `from`, only events of the last 30 days are searched.
    public static let defaultWindowMilliseconds: Int64 = 30 * 86_400_000

    /// Filters mapped to the query field they set.
    static let filters: [(name: String, set: @Sendable (inout EventQuery, String) -> Void)] = [
        ("context.rootEntityType", { $0.rootEntityType = $1 }),
        ("context.rootEntityId", { $0.rootEntityId = $1 }),
        ("context.rootEntityRef", { $0.rootEntityRef = $1 }),
        ("context.entityType", { $0.entityType = $1 }),
        ("context.entityId", { $0.entityId = $1 }),
        ("context.entityRef", { $0.entityRef = $1 }),
        ("name", { $0.name = $1 }),
        ("category", { $0.category = $1 }),
        ("retailerId", { $0.retailerIds = [$1] }),
        ("eventType", { $0.eventType = $1 }),
        ("eventStatus", { $0.eventStatus = $1 }),
    ]

    static let otherNames = ["from", "to", "start", "count"]

    /// Validates `query` and returns the search it requests, limited to what `user` may read.
    /// - Parameter now: epoch milliseconds, the end of the default 30-day window.
    /// - Throws: `APIError` 400 for invalid parameters, 403 for a retailer the user may not read.
    public static func parse(_ query: [(name: String, value: String)], user: AuthenticatedUser,
                             now: Int64) throws(APIError) -> EventQuery {
        var values: [String: String] = [:]
        for (name, value) in query {
            guard filters.contains(where: { $0.name == name }) || otherNames.contains(name) else {
                let accepted = (filters.map(\.name) + otherNames).joined(separator: ", ")
                throw .badRequest("unknown query parameter \"\(name)\": accepted parameters are \(accepted)")
            }
            guard values[name] == nil else {
                throw .badRequest("query parameter \(name) is given more than once: give it once, for example \(name)=\(value)")
            }
            guard !value.isEmpty else {
                throw .badRequest("query parameter \(name) is empty: give a value or leave the parameter out")
            }
            values[name] = value
        }

        var result = EventQuery()
        for filter in filters {
            if let value = values[filter.name] { filter.set(&result, value) }
        }

        if let eventType = result.eventType, !EventType.all.contains(eventType) {
            throw .badRequest("eventType must be one of \(EventType.all.joined(separator: ", ")), got \"\(eventType)\"")
        }
        if let eventStatus = result.eventStatus, !EventStatus.all.contains(eventStatus) {
            throw .badRequest("eventStatus must be one of \(EventStatus.all.joined(separator: ", ")), got \"\(eventStatus)\"")
        }

        result.start = try wholeNumber(values["start"], name: "start", range: 0...maximumStart, default: 0)
        result.count = try wholeNumber(values["count"], name: "count", range: 1...maximumCount, default: defaultCount)

        result.from = try time(values["from"], name: "from") ?? now - defaultWindowMilliseconds
        result.to = try time(values["to"], name: "to")
        if let from = result.from, let to = result.to, from > to {
            guard let givenFrom = values["from"] else {
                throw .badRequest("to (\(values["to"]!)) is before the default window: without from only the last 30 days are searched, so give a from at or before to")
            }
            throw .badRequest("from (\(givenFrom)) is after to (\(values["to"]!)): give a from that is at or before to")
        }

        if let allowed = user.retailerIds {
            if let requested = result.retailerIds?.first {
                guard allowed.contains(requested) else {
                    throw .forbidden("user \(user.username) may read events of retailers \(allowed.joined(separator: ", ")) only, not of retailer \(requested)")
                }
            } else {
                result.retailerIds = allowed
            }
        }
        return result
    }

    /// Parses ASCII digits only: no sign, no spaces, no overflow (`Int("+5")` would accept a sign).
    private static func wholeNumber(_ text: String?, name: String, range: ClosedRange<Int>, default defaultValue: Int) throws(APIError) -> Int {
        guard let text else { return defaultValue }
        let message = "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), for example \(name)=\(name == "count" ? defaultCount : 0), got \"\(text)\""
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .badRequest(message) }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            guard value <= range.upperBound else { throw .badRequest(message) }
        }
        guard range.contains(value) else { throw .badRequest(message) }
        return value
    }

    private static func time(_ text: String?, name: String) throws(APIError) -> Int64? {
        guard let text else { return nil }
        guard let milliseconds = TimeFormat.parseISO8601(text) else {
            throw .badRequest("\(name) must be an ISO 8601 time with Z or an offset, for example \(name)=2026-12-01T10:00:00.000Z or \(name)=2026-12-01T12:00:00%2B02:00, got \"\(text)\"")
        }
        return milliseconds
    }
}
