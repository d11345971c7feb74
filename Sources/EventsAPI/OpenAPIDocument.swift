import JSON

/// The OpenAPI 3.1 description of every route the server registers, served at
/// `GET /api/v4.1/openapi.json`. `OpenAPITests` compares it with the assembled router in both
/// directions, so a route added without a description (or the reverse) fails the suite.
public enum OpenAPIDocument {
    public static let version = "4.1.0"

    /// Builds the document. `serverURL` becomes its one `servers` entry when given.
    public static func make(serverURL: String? = nil) -> JSONValue {
        var document = JSONObject([
            ("openapi", "3.1.0"),
            ("info", [
                "title": "events-server Events API",
                "version": .string(version),
                "description": "The Fluent Commerce Events API (v4.1) for events, OAuth bearer tokens and workflow execution, plus operations endpoints. Every /api route needs Authorization: Bearer <access_token> from POST /oauth/token, except this document. Errors use the Fluent error body.",
            ]),
        ])
        if let serverURL {
            document["servers"] = [["url": .string(serverURL)]]
        }
        document["paths"] = .object(OpenAPIPaths.all())
        document["components"] = [
            "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "description": "access_token from POST /oauth/token"]],
            "schemas": .object(OpenAPISchemas.all()),
        ]
        return .object(document)
    }

    /// Encodes `make(serverURL:)` as compact JSON.
    public static func encoded(serverURL: String? = nil) -> [UInt8] {
        JSONWriter.encode(make(serverURL: serverURL))
    }
}

/// Helpers that keep the path entries of `OpenAPIPaths` short.
enum OpenAPIBuilder {
    static let bearer: JSONValue = [["bearer": []]]
    static let noSecurity: JSONValue = []

    static func reference(_ schema: String) -> JSONValue {
        ["$ref": .string("#/components/schemas/\(schema)")]
    }

    static func jsonContent(_ schema: String) -> JSONValue {
        ["application/json": ["schema": reference(schema)]]
    }

    /// Makes a response object with a JSON body of `schema`, or without a body when `schema` is nil.
    static func response(_ description: String, _ schema: String? = nil, headers: JSONValue? = nil) -> JSONValue {
        var object = JSONObject([("description", .string(description))])
        if let schema { object["content"] = jsonContent(schema) }
        if let headers { object["headers"] = headers }
        return .object(object)
    }

    /// Makes a response object whose body is the Fluent error body.
    static func error(_ description: String) -> JSONValue {
        response(description, "Error")
    }

    static func parameter(_ name: String, in location: String, _ description: String, required: Bool = false,
                          schema: JSONValue = ["type": "string"]) -> JSONValue {
        ["name": .string(name), "in": .string(location), "required": .bool(required),
         "description": .string(description), "schema": schema]
    }

    static func operation(_ operationId: String, tag: String, summary: String, description: String? = nil,
                          security: JSONValue, parameters: [JSONValue] = [], requestBody: JSONValue? = nil,
                          responses: [(String, JSONValue)]) -> JSONValue {
        var object = JSONObject([("operationId", .string(operationId)), ("tags", [.string(tag)]),
                                 ("summary", .string(summary))])
        if let description { object["description"] = .string(description) }
        object["security"] = security
        if !parameters.isEmpty { object["parameters"] = .array(parameters) }
        if let requestBody { object["requestBody"] = requestBody }
        object["responses"] = .object(JSONObject(responses))
        return .object(object)
    }

    /// The responses every authenticated route can give besides its own.
    static let authenticationResponses: [(String, JSONValue)] = [
        ("401", error("Missing, unknown or expired bearer token; the response has WWW-Authenticate: Bearer.")),
        ("503", error("The worker queue is full; retry after Retry-After seconds.")),
    ]
}
