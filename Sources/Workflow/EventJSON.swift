import EventStore
import JSON
import Telemetry

/// Renders an `Event` as the API's JSON object (the same keys and order as the event
/// endpoints), for webhook bodies.
public enum EventJSON {
    public static func value(_ event: Event) -> JSONValue {
        var context = JSONObject()
        context["sourceEvents"] = .array(event.context.sourceEvents.map { .string($0) })
        context["entityType"] = text(event.context.entityType)
        context["entityId"] = text(event.context.entityId)
        context["entityRef"] = text(event.context.entityRef)
        context["entitySubtype"] = text(event.context.entitySubtype)
        context["rootEntityType"] = text(event.context.rootEntityType)
        context["rootEntityId"] = text(event.context.rootEntityId)
        context["rootEntityRef"] = text(event.context.rootEntityRef)

        var object = JSONObject()
        object["id"] = .string(event.id)
        object["name"] = .string(event.name)
        object["type"] = .string(event.type)
        object["accountId"] = .string(event.accountId)
        object["retailerId"] = .string(event.retailerId)
        object["category"] = text(event.category)
        object["context"] = .object(context)
        object["eventStatus"] = .string(event.eventStatus)
        object["attributes"] = event.attributes
        object["source"] = text(event.source)
        object["generatedBy"] = .string(event.generatedBy)
        object["generatedOn"] = .string(TimeFormat.iso8601(milliseconds: event.generatedOn))
        if let scheduledOn = event.scheduledOn {
            object["scheduledOn"] = .string(TimeFormat.iso8601(milliseconds: scheduledOn))
        }
        return .object(object)
    }

    public static func encode(_ event: Event) -> [UInt8] {
        JSONWriter.encode(value(event))
    }

    private static func text(_ value: String?) -> JSONValue {
        value.map { .string($0) } ?? .null
    }
}
