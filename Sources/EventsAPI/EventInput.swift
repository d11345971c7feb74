import EventStore
import JSON
import Telemetry

/// A posted event body, validated: the flat shape of Fluent's `POST /event/async` and
/// `POST /event/sync`.
///
/// Parsing is strict. The JSON parser rejects duplicate keys, invalid UTF-8, lone surrogates,
/// numbers out of range and nesting deeper than `maximumDepth`, and this type rejects unknown
/// fields and wrong types. Every error is a 400 whose message names the JSON path and what is expected.
public struct EventInput: Sendable {
    /// The maximum nesting of arrays and objects in a body, counting the body itself as 1.
    public static let maximumDepth = JSONParser.defaultMaximumDepth
    /// The maximum length of each string field other than inside `attributes`, in bytes.
    public static let maximumFieldLength = 1024
    /// The event types a client may post. ORCHESTRATION_AUDIT events are written by the engine only.
    public static let postableTypes = [EventType.orchestration, EventType.api, EventType.general]

    public var name: String
    public var retailerId: String
    public var type: String
    public var accountId: String?
    public var category: String?
    public var entityType: String?
    public var entityId: String?
    public var entityRef: String?
    public var entitySubtype: String?
    public var rootEntityType: String?
    public var rootEntityId: String?
    public var rootEntityRef: String?
    /// Always an object.
    public var attributes: JSONValue
    public var source: String?
    /// Epoch milliseconds.
    public var scheduledOn: Int64?
    /// The body as parsed, kept for `canonicalBody`.
    var body: JSONValue

    /// The compact re-encoding of the body, so two bodies that differ only in whitespace compare
    /// equal. Encoded on each use: only requests with an `Idempotency-Key` need it.
    public var canonicalBody: [UInt8] { JSONWriter.encode(body) }

    static let fields = ["name", "retailerId", "type", "accountId", "category", "entityType", "entityId", "entityRef",
                         "entitySubtype", "rootEntityType", "rootEntityId", "rootEntityRef", "attributes", "source",
                         "scheduledOn"]

    /// Parses and validates a request body.
    /// - Throws: `APIError` 400 naming the field (a JSON path) and what is expected.
    public static func parse(_ body: [UInt8]) throws(APIError) -> EventInput {
        guard !body.isEmpty else {
            throw .badRequest("the request body is empty: send a JSON object with at least name, retailerId, entityType and entityRef")
        }
        let value: JSONValue
        do {
            value = try JSONParser(maximumDepth: maximumDepth).parse(body)
        } catch {
            throw .badRequest("invalid JSON at \(error.path) (byte \(error.offset)): \(error.message)")
        }
        guard case .object(let object) = value else {
            throw .badRequest("$: expected a JSON object, got \(article(value.typeName)) \(value.typeName)")
        }

        for key in object.keys where !fields.contains(key) {
            throw .badRequest("\(path(key)): unknown field; expected one of \(fields.joined(separator: ", "))")
        }

        let type = try optionalString(object, "type") ?? EventType.orchestration
        guard postableTypes.contains(type) else {
            throw .badRequest("$.type: expected one of \(postableTypes.joined(separator: ", ")), got \"\(type)\"")
        }

        var input = EventInput(
            name: try requiredString(object, "name"),
            retailerId: try requiredIdentifier(object, "retailerId"),
            type: type,
            accountId: try optionalString(object, "accountId"),
            category: try optionalString(object, "category"),
            entityType: try optionalString(object, "entityType"),
            entityId: try optionalIdentifier(object, "entityId"),
            entityRef: try optionalReference(object, "entityRef"),
            entitySubtype: try optionalString(object, "entitySubtype"),
            rootEntityType: try optionalString(object, "rootEntityType"),
            rootEntityId: try optionalIdentifier(object, "rootEntityId"),
            rootEntityRef: try optionalReference(object, "rootEntityRef"),
            attributes: .object(JSONObject()),
            source: try optionalString(object, "source"),
            scheduledOn: nil,
            body: value)

        // An absent `attributes` means `{}`. An explicit null is rejected like any other non-object.
        switch object["attributes"] {
        case nil:
            break
        case .object?:
            input.attributes = object["attributes"]!
        case .null?:
            throw .badRequest("$.attributes: expected an object, got null; send {} or omit the field for an event without attributes")
        case let other?:
            throw .badRequest("$.attributes: expected an object, got \(article(other.typeName)) \(other.typeName)")
        }

        if let text = try optionalString(object, "scheduledOn") {
            guard let milliseconds = TimeFormat.parseISO8601(text) else {
                throw .badRequest("$.scheduledOn: expected an ISO 8601 time such as 2026-12-01T10:00:00.000Z, got \"\(text)\"")
            }
            input.scheduledOn = milliseconds
        }

        if type == EventType.orchestration {
            guard input.entityType != nil else {
                throw .badRequest("$.entityType: missing; an ORCHESTRATION event needs the type of its entity, such as ORDER")
            }
            guard input.entityId != nil || input.entityRef != nil else {
                throw .badRequest("$.entityRef: missing; an ORCHESTRATION event needs entityRef or entityId")
            }
        }
        return input
    }

    /// Makes the event to store for `user`, at `now` (epoch milliseconds): PENDING, or
    /// SCHEDULED when `scheduledOn` is in the future; API and GENERAL events are COMPLETE.
    /// - Throws: `APIError` 403 when the user may not post for the retailer or account.
    public func makeEvent(for user: AuthenticatedUser, now: Int64, id: String = EventID.make()) throws(APIError) -> Event {
        guard user.canAccess(retailerId: retailerId) else {
            throw .forbidden("user \(user.username) may post events for retailers \((user.retailerIds ?? []).joined(separator: ", ")) only, not for retailer \(retailerId)")
        }
        if let accountId, accountId != user.accountId {
            throw .forbidden("user \(user.username) belongs to account \(user.accountId), not to account \(accountId)")
        }

        let status: String
        if type != EventType.orchestration {
            status = EventStatus.complete
        } else if let scheduledOn, scheduledOn > now {
            status = EventStatus.scheduled
        } else {
            status = EventStatus.pending
        }

        let context = EventContext(sourceEvents: [], entityType: entityType, entityId: entityId, entityRef: entityRef,
                                   entitySubtype: entitySubtype, rootEntityType: rootEntityType, rootEntityId: rootEntityId,
                                   rootEntityRef: rootEntityRef)
        return Event(id: id, name: name, type: type, accountId: user.accountId, retailerId: retailerId, category: category,
                     context: context, eventStatus: status, attributes: attributes, source: source,
                     generatedBy: user.username, generatedOn: now, scheduledOn: scheduledOn)
    }

    // MARK: - Field readers

    private static func path(_ key: String) -> String {
        "$.\(key)"
    }

    private static func article(_ typeName: String) -> String {
        typeName.first.map { "aeiou".contains($0) } == true ? "an" : "a"
    }

    private static func optionalString(_ object: JSONObject, _ key: String) throws(APIError) -> String? {
        switch object[key] {
        case nil, .null?:
            return nil
        case .string(let text)?:
            guard text.utf8.count <= maximumFieldLength else {
                throw .badRequest("\(path(key)): expected at most \(maximumFieldLength) bytes, got \(text.utf8.count)")
            }
            return text
        case let other?:
            throw .badRequest("\(path(key)): expected a string, got \(article(other.typeName)) \(other.typeName)")
        }
    }

    private static func requiredString(_ object: JSONObject, _ key: String) throws(APIError) -> String {
        guard let text = try optionalString(object, key) else {
            throw .badRequest("\(path(key)): missing; expected a non-empty string")
        }
        guard !isBlank(text) else {
            throw .badRequest("\(path(key)): expected a non-empty string that is not only whitespace, got \"\(text)\"")
        }
        return text
    }

    /// Reads an entity reference, which may be absent but not empty or only whitespace.
    private static func optionalReference(_ object: JSONObject, _ key: String) throws(APIError) -> String? {
        guard let text = try optionalString(object, key) else { return nil }
        guard !isBlank(text) else {
            throw .badRequest("\(path(key)): expected a non-empty reference that is not only whitespace, such as \"HD-1\", got \"\(text)\"; omit the field when there is none")
        }
        return text
    }

    /// True for an empty string or one of Unicode whitespace only.
    private static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy(\.properties.isWhitespace)
    }

    /// Ids may be sent as strings or as integers (Fluent's ids are numeric); both are stored as text.
    private static func optionalIdentifier(_ object: JSONObject, _ key: String) throws(APIError) -> String? {
        if case .integer(let number)? = object[key] { return String(number) }
        switch object[key] {
        case .double?, .bool?, .array?, .object?:
            let typeName = object[key]!.typeName
            throw .badRequest("\(path(key)): expected a string or an integer, got \(article(typeName)) \(typeName)")
        default:
            return try optionalString(object, key)
        }
    }

    private static func requiredIdentifier(_ object: JSONObject, _ key: String) throws(APIError) -> String {
        guard let text = try optionalIdentifier(object, key) else {
            throw .badRequest("\(path(key)): missing; expected a non-empty string such as \"1\"")
        }
        guard !isBlank(text) else {
            throw .badRequest("\(path(key)): expected a non-empty string that is not only whitespace, got \"\(text)\"")
        }
        return text
    }
}
