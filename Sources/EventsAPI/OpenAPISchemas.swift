import JSON

/// The `components.schemas` object of the OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 uses).
enum OpenAPISchemas {
    static func all() -> JSONObject {
        JSONObject([
            ("EventInput", eventInput()),
            ("Event", event()),
            ("EventContext", eventContext()),
            ("EventAccepted", object(["eventId": string("Id of the stored event."),
                                      "entityId": nullableString("Entity id, when known."),
                                      "eventStatus": string("PENDING, or SCHEDULED for a future scheduledOn.")],
                                     required: ["eventId", "eventStatus"])),
            ("EventSyncResult", object(["eventId": string("Id of the executed event."),
                                        "entityId": nullableString("Entity id, when known."),
                                        "eventStatus": string("COMPLETE, FAILED or NO_MATCH."),
                                        "errorMessage": string("Why the event FAILED; only then present.")],
                                       required: ["eventId", "eventStatus"])),
            ("EventList", object(["start": integer("Offset of the first result."),
                                  "count": integer("Number of results returned."),
                                  "hasMore": ["type": "boolean", "description": "Whether more results follow this page."],
                                  "results": ["type": "array", "items": OpenAPIBuilder.reference("Event")]],
                                 required: ["start", "count", "hasMore", "results"])),
            ("Error", object(["errors": ["type": "array", "items": object(
                ["code": string("The HTTP status as text, such as \"400\"."),
                 "message": string("What is wrong and how to fix it.")], required: ["code", "message"])]],
                required: ["errors"])),
            ("OAuthToken", object(["access_token": string("The bearer token."),
                                   "token_type": string("Always bearer."),
                                   "expires_in": integer("Seconds until the token expires."),
                                   "scope": string("Always api."),
                                   "Retailer_id": nullableString("The user's retailer when it is limited to one.")],
                                  required: ["access_token", "token_type", "expires_in", "scope"])),
            ("OAuthError", object(["error": string("invalid_grant, invalid_request, unsupported_grant_type, invalid_scope or too_many_requests."),
                                   "error_description": string("Details, such as Bad credentials.")],
                                  required: ["error"])),
            ("Entity", object(["entityId": string("Entity id."),
                               "entityRef": string("Entity reference."),
                               "entityType": string("Entity type."),
                               "entitySubtype": nullableString("Entity subtype."),
                               "retailerId": string("Retailer id."),
                               "status": string("Current status, set by SetState rules."),
                               "attributes": ["type": "object", "description": "Current attributes, set by SetAttributes and AdjustQuantity rules."],
                               "rootEntityType": string("Root entity type."),
                               "rootEntityId": nullableString("Root entity id."),
                               "rootEntityRef": string("Root entity reference."),
                               "workflowName": nullableString("Workflow the entity runs on, as TYPE::SUBTYPE."),
                               "workflowVersion": nullableString("Version of that workflow."),
                               "createdOn": ["type": "string", "format": "date-time", "description": "UTC, with milliseconds and Z."],
                               "updatedOn": ["type": "string", "format": "date-time", "description": "UTC, with milliseconds and Z."]],
                              required: ["entityId", "entityRef", "entityType", "retailerId", "status", "attributes"])),
            ("Health", object(["status": string("UP.")], required: ["status"])),
            ("Readiness", object(["status": string("READY or NOT_READY."),
                                  "checks": ["type": "array", "items": object(
                                      ["name": string("database, workflows, queue or shutdown."),
                                       "status": string("UP or DOWN."),
                                       "reason": string("Why the check failed; only then present.")],
                                      required: ["name", "status"])]],
                                 required: ["status", "checks"])),
        ])
    }

    static func eventInput() -> JSONValue {
        object([
            "name": string("Event name, matched against ruleset names."),
            "retailerId": string("Retailer the event belongs to."),
            "type": string("ORCHESTRATION (default), API or GENERAL. API and GENERAL events are stored, never orchestrated."),
            "accountId": string("Account id; defaults to the user's."),
            "category": string("Free-form category."),
            "entityType": string("Type of the entity the event is about, such as ORDER."),
            "entityId": string("Id of that entity."),
            "entityRef": string("Reference of that entity, such as HD-1001."),
            "entitySubtype": string("Subtype of that entity, such as HD."),
            "rootEntityType": string("Type of the root entity."),
            "rootEntityId": string("Id of the root entity."),
            "rootEntityRef": string("Reference of the root entity."),
            "attributes": ["type": "object", "description": "Any JSON object; rules read their attributes from it."],
            "source": string("Free-form origin of the event."),
            "scheduledOn": ["type": "string", "format": "date-time", "description": "A future time stores the event as SCHEDULED until then."],
        ], required: ["name", "retailerId"], additionalProperties: false)
    }

    static func event() -> JSONValue {
        object([
            "id": string("UUIDv7 in lower case; ids sort by creation time."),
            "name": string("Event name."),
            "type": string("ORCHESTRATION, ORCHESTRATION_AUDIT, API or GENERAL."),
            "accountId": string("Account id."),
            "retailerId": string("Retailer id."),
            "category": nullableString("For audits: snapshot, ruleSet, rule, ACTION, exception or CUSTOM."),
            "context": OpenAPIBuilder.reference("EventContext"),
            "eventStatus": string("PENDING, SCHEDULED, COMPLETE, FAILED or NO_MATCH; SUCCESS or FAILED for audits."),
            "attributes": ["description": "An object for posted events; a list of {name, type, value} for audits.",
                           "oneOf": [["type": "object"], ["type": "array", "items": ["type": "object"]]]],
            "source": nullableString("Origin of the event."),
            "generatedBy": string("The user that posted it, or the engine."),
            "generatedOn": ["type": "string", "format": "date-time", "description": "UTC, with milliseconds and Z."],
            "scheduledOn": ["type": "string", "format": "date-time", "description": "Present for scheduled events."],
        ], required: ["id", "name", "type", "accountId", "retailerId", "context", "eventStatus", "attributes", "generatedBy", "generatedOn"])
    }

    static func eventContext() -> JSONValue {
        object([
            "sourceEvents": ["type": "array", "items": ["type": "string"], "description": "Ids of the events that caused this one."],
            "entityType": nullableString("Entity type."),
            "entityId": nullableString("Entity id."),
            "entityRef": nullableString("Entity reference."),
            "entitySubtype": nullableString("Entity subtype."),
            "rootEntityType": nullableString("Root entity type."),
            "rootEntityId": nullableString("Root entity id."),
            "rootEntityRef": nullableString("Root entity reference."),
        ], required: ["sourceEvents"])
    }

    static func object(_ properties: KeyValuePairs<String, JSONValue>, required: [String],
                       additionalProperties: Bool? = nil) -> JSONValue {
        let members = JSONObject(properties.map { ($0.key, $0.value) })
        var schema = JSONObject([("type", "object"), ("properties", .object(members)),
                                 ("required", .array(required.map { .string($0) }))])
        if let additionalProperties { schema["additionalProperties"] = .bool(additionalProperties) }
        return .object(schema)
    }

    static func string(_ description: String) -> JSONValue {
        ["type": "string", "description": .string(description)]
    }

    static func nullableString(_ description: String) -> JSONValue {
        ["type": ["string", "null"], "description": .string(description)]
    }

    static func integer(_ description: String) -> JSONValue {
        ["type": "integer", "description": .string(description)]
    }
}
