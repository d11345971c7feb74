import JSON

/// The `paths` object of the OpenAPI document: one entry per route pattern, one operation per
/// method. Keep it in step with the routes; `OpenAPITests` fails when they differ.
enum OpenAPIPaths {
    typealias B = OpenAPIBuilder

    static func all() -> JSONObject {
        JSONObject([
            ("/oauth/token", ["post": token()]),
            ("/api/v4.1/event/async", ["post": postEvent(sync: false)]),
            ("/api/v4.1/event/sync", ["post": postEvent(sync: true)]),
            ("/api/v4.1/event/{eventId}", ["get": getEvent()]),
            ("/api/v4.1/event", ["get": listEvents()]),
            ("/api/v4.1/entity/{entityType}/{entityRef}", ["get": getEntity()]),
            ("/api/v4.1/openapi.json", ["get": openAPI()]),
            ("/health", ["get": health()]),
            ("/ready", ["get": ready()]),
            ("/metrics", ["get": metrics()]),
        ])
    }

    static func token() -> JSONValue {
        let names: [(String, String)] = [
            ("username", "The user's name."), ("password", "The user's password."),
            ("client_id", "The API client's id."), ("client_secret", "The API client's secret."),
            ("grant_type", "Must be password."), ("scope", "Optional; must be api when given."),
        ]
        var formProperties = JSONObject()
        for (name, description) in names {
            formProperties[name] = ["type": "string", "description": .string(description)]
        }
        return B.operation(
            "getToken", tag: "OAuth", summary: "Get a bearer token with the OAuth 2.0 password grant",
            description: "Parameters go in the query string, as Fluent documents, or in an application/x-www-form-urlencoded body. Repeated failures for one user or address are slowed down, then answered 429.",
            security: B.noSecurity,
            parameters: names.map { B.parameter($0.0, in: "query", $0.1) },
            requestBody: ["required": false, "content": ["application/x-www-form-urlencoded": ["schema": ["type": "object", "properties": .object(formProperties)]]]],
            responses: [
                ("200", B.response("A new token.", "OAuthToken")),
                ("400", B.response("Bad credentials (error invalid_grant) or a missing or invalid parameter.", "OAuthError")),
                ("429", B.response("Too many failed attempts for this user or address; retry after Retry-After seconds.", "OAuthError")),
                ("503", B.response("Too many logins are waiting for their credential check (error temporarily_unavailable); retry after Retry-After seconds.", "OAuthError")),
            ])
    }

    static func postEvent(sync: Bool) -> JSONValue {
        let idempotency = B.parameter("Idempotency-Key", in: "header", sync
            ? "Optional. The same key and body within 24 hours stores nothing new: it returns the event's final response, or waits for the event while it runs. The same key with another body, or used on /event/async, gets 409."
            : "Optional. The same key and body within 24 hours returns the first response and stores nothing new; the same key with another body gets 409.")
        var responses: [(String, JSONValue)]
        if sync {
            responses = [
                ("200", B.response("The event was executed and is COMPLETE.", "EventSyncResult")),
                ("400", B.response("Invalid body (the message names the JSON path), or the event ended FAILED (with errorMessage) or NO_MATCH.", "EventSyncResult")),
                ("504", B.error("The event was not executed within syncTimeout; it stays queued and runs later.")),
            ]
        } else {
            responses = [
                ("200", B.response("The event is committed durably and PENDING (SCHEDULED with a future scheduledOn).", "EventAccepted",
                                   headers: ["Location": ["description": "/api/v4.1/event/{eventId} of the new event", "schema": ["type": "string"]]])),
                ("400", B.error("Invalid body: the message names the field as a JSON path and what is expected.")),
            ]
        }
        responses += [
            ("403", B.error("The user is limited to other retailers.")),
            ("409", B.error("The Idempotency-Key was used with another body.")),
            ("413", B.error("The body is larger than maxBodyBytes.")),
            ("415", B.error("The body has a Content-Encoding other than gzip.")),
        ] + B.authenticationResponses

        return B.operation(
            sync ? "postEventSync" : "postEventAsync", tag: "Events",
            summary: sync ? "Post an event and execute it before answering" : "Post an event for asynchronous execution",
            description: sync
                ? "The event runs behind any queued events of the same root entity, within syncTimeout."
                : "A 200 means the event is committed and the WAL fsynced, the guarantee of synchronous=FULL. ORCHESTRATION events are queued for the workflow engine; API and GENERAL events are stored only.",
            security: B.bearer, parameters: [idempotency],
            requestBody: ["required": true, "content": B.jsonContent("EventInput")],
            responses: responses)
    }

    static func getEvent() -> JSONValue {
        B.operation(
            "getEvent", tag: "Events", summary: "Get one event by id",
            security: B.bearer,
            parameters: [B.parameter("eventId", in: "path", "The event's id (UUIDv7).", required: true)],
            responses: [
                ("200", B.response("The event.", "Event")),
                ("404", B.error("No event with this id, or it belongs to a retailer the user may not read.")),
            ] + B.authenticationResponses)
    }

    static func listEvents() -> JSONValue {
        let filters: [(String, String)] = [
            ("context.rootEntityType", "Root entity type, such as ORDER."),
            ("context.rootEntityId", "Root entity id."),
            ("context.rootEntityRef", "Root entity reference."),
            ("context.entityType", "Entity type, such as FULFILMENT."),
            ("context.entityId", "Entity id."),
            ("context.entityRef", "Entity reference."),
            ("name", "Event name."),
            ("category", "Event category; for audits snapshot, ruleSet, rule, ACTION, exception or CUSTOM."),
            ("retailerId", "Retailer id."),
            ("eventType", "ORCHESTRATION, ORCHESTRATION_AUDIT, API or GENERAL."),
            ("eventStatus", "PENDING, SCHEDULED, COMPLETE, FAILED, NO_MATCH or SUCCESS."),
        ]
        var parameters = filters.map { B.parameter($0.0, in: "query", $0.1) }
        parameters += [
            B.parameter("from", in: "query", "Earliest generatedOn, ISO 8601 with Z or an offset. Default: 30 days ago.", schema: ["type": "string", "format": "date-time"]),
            B.parameter("to", in: "query", "Latest generatedOn, ISO 8601 with Z or an offset.", schema: ["type": "string", "format": "date-time"]),
            B.parameter("start", in: "query", "Zero-based offset of the first result. Default: 0.", schema: ["type": "integer", "minimum": 0, "default": 0]),
            B.parameter("count", in: "query", "Results per page. Default: 100.", schema: ["type": "integer", "minimum": 1, "maximum": 5000, "default": 100]),
        ]
        return B.operation(
            "listEvents", tag: "Events", summary: "Search events, newest first",
            description: "Results are ordered by generatedOn then id, both descending, so paging with start is stable. An unknown or repeated parameter, a count outside 1..5000, a negative start, an invalid time or from after to is a 400 that names the parameter. A page ends early, with hasMore true, before 4 MiB of event JSON (it always contains at least one event), so count in the response may be less than requested.",
            security: B.bearer, parameters: parameters,
            responses: [
                ("200", B.response("One page of events.", "EventList")),
                ("400", B.error("An invalid parameter, named in the message.")),
                ("403", B.error("The retailerId filter names a retailer the user may not read.")),
                ("503", B.error("Too many lists are being built at once; retry after Retry-After seconds.")),
            ] + B.authenticationResponses)
    }

    static func getEntity() -> JSONValue {
        B.operation(
            "getEntity", tag: "Entities", summary: "Get an orchestrated entity's status and attributes",
            description: "An extension of the Fluent API: the entity as the workflow engine keeps it, so a client can check what its events did without reading the audit trail.",
            security: B.bearer,
            parameters: [
                B.parameter("entityType", in: "path", "Entity type, such as ORDER or FULFILMENT.", required: true),
                B.parameter("entityRef", in: "path", "Entity reference, such as HD-1001.", required: true),
                B.parameter("retailerId", in: "query", "Retailer of the entity. Required unless the user is limited to exactly one retailer."),
            ],
            responses: [
                ("200", B.response("The entity.", "Entity")),
                ("400", B.error("retailerId is missing or repeated, or another query parameter is given.")),
                ("404", B.error("No such entity for this retailer, or a retailer the user may not read.")),
            ] + B.authenticationResponses)
    }

    static func openAPI() -> JSONValue {
        B.operation(
            "getOpenAPI", tag: "Operations", summary: "This OpenAPI 3.1 document", security: B.noSecurity,
            responses: [("200", ["description": "The document.", "content": ["application/json": ["schema": ["type": "object"]]]])])
    }

    static func health() -> JSONValue {
        B.operation(
            "getHealth", tag: "Operations", summary: "Liveness: the process serves requests", security: B.noSecurity,
            responses: [("200", B.response("Always {\"status\":\"UP\"} while the process serves.", "Health"))])
    }

    static func ready() -> JSONValue {
        B.operation(
            "getReady", tag: "Operations", summary: "Readiness: database writable, workflows loaded, queue running",
            description: "Fails with 503 while the server shuts down, so load balancers stop sending requests.",
            security: B.noSecurity,
            responses: [
                ("200", B.response("Every check passed.", "Readiness")),
                ("503", B.response("At least one check failed; each failed check has a reason.", "Readiness")),
            ])
    }

    static func metrics() -> JSONValue {
        B.operation(
            "getMetrics", tag: "Operations", summary: "Metrics in the Prometheus text format 0.0.4", security: B.noSecurity,
            responses: [("200", ["description": "Every metric of the process.", "content": ["text/plain; version=0.0.4": ["schema": ["type": "string"]]]])])
    }
}
