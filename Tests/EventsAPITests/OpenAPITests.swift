import EventsAPI
import Foundation
import HTTP
import JSON
import Testing

/// The OpenAPI document against the router `events-server serve` assembles: every route is
/// described, every described operation is routed, and every reference resolves.
@Suite struct OpenAPITests {
    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    @Test func everyRouteIsDescribed() throws {
        let server = try OperationsTestServer()
        defer { server.remove() }
        let paths = try #require(OpenAPIDocument.make()["paths"]?.objectValue)

        #expect(server.router.routes.count >= 10)
        for route in server.router.routes {
            let operation = paths[route.pattern]?[route.method.rawValue.lowercased()]
            #expect(operation != nil, "\(route.method) \(route.pattern) is routed but not in the OpenAPI document")
        }
    }

    @Test func everyDescribedOperationIsRouted() throws {
        let server = try OperationsTestServer()
        defer { server.remove() }
        let paths = try #require(OpenAPIDocument.make()["paths"]?.objectValue)
        let routed = Set(server.router.routes.map { "\($0.method.rawValue) \($0.pattern)" })

        for (path, item) in paths {
            let operations = try #require(item.objectValue)
            for (method, _) in operations {
                #expect(OpenAPITests.methods.contains(method), "\(path): \(method) is not an HTTP method")
                #expect(routed.contains("\(method.uppercased()) \(path)"), "\(method.uppercased()) \(path) is documented but not routed")
            }
        }
    }

    @Test func securityMatchesTheHeadFilter() throws {
        let server = try OperationsTestServer()
        defer { server.remove() }
        let paths = try #require(OpenAPIDocument.make()["paths"]?.objectValue)

        // A route documented as public must succeed without a token; a bearer route must return 401.
        for route in server.router.routes where route.method == .get && !route.pattern.contains("{") {
            let operation = try #require(paths[route.pattern]?["get"])
            let isPublic = operation["security"] == []
            let status = try server.request("GET", route.pattern).status
            if isPublic {
                #expect(status != 401, "\(route.pattern) is documented without security but answered 401")
            } else {
                #expect(status == 401, "\(route.pattern) is documented with bearer security but answered \(status)")
            }
        }
    }

    @Test func operationsHaveResponsesAndIds() throws {
        let paths = try #require(OpenAPIDocument.make()["paths"]?.objectValue)
        var operationIds: Set<String> = []

        for (path, item) in paths {
            for (method, operation) in try #require(item.objectValue) {
                let name = "\(method.uppercased()) \(path)"
                let id = try #require(operation["operationId"]?.stringValue, "\(name) has no operationId")
                #expect(operationIds.insert(id).inserted, "operationId \(id) is used twice")
                let responses = try #require(operation["responses"]?.objectValue, "\(name) has no responses")
                #expect(!responses.isEmpty, "\(name)")
                for (status, response) in responses {
                    #expect(Int(status) != nil, "\(name): response key \(status) is not a status code")
                    #expect(response["description"]?.stringValue?.isEmpty == false, "\(name) \(status) has no description")
                }
                // Every {name} in the path is declared as a required path parameter.
                for segment in path.split(separator: "/") where segment.hasPrefix("{") {
                    let parameter = String(segment.dropFirst().dropLast())
                    let declared = operation["parameters"]?.arrayValue?.contains {
                        $0["name"]?.stringValue == parameter && $0["in"] == "path" && $0["required"] == true
                    } ?? false
                    #expect(declared, "\(name) does not declare path parameter \(parameter)")
                }
            }
        }
    }

    @Test func everyReferenceResolves() throws {
        let document = OpenAPIDocument.make()
        let schemas = try #require(document["components"]?["schemas"]?.objectValue)
        var references: [String] = []
        collectReferences(document, into: &references)

        #expect(!references.isEmpty)
        for reference in references {
            let prefix = "#/components/schemas/"
            #expect(reference.hasPrefix(prefix), "\(reference)")
            #expect(schemas[String(reference.dropFirst(prefix.count))] != nil, "\(reference) does not resolve")
        }
    }

    @Test func servedDocumentMatches() throws {
        let server = try OperationsTestServer()
        defer { server.remove() }

        let response = try server.request("GET", "/api/v4.1/openapi.json")

        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        let served = try response.json()
        #expect(served == OpenAPIDocument.make())
        #expect(served["openapi"] == "3.1.0")
        #expect(served["info"]?["version"] == "4.1.0")
    }

    private func collectReferences(_ value: JSONValue, into references: inout [String]) {
        switch value {
        case .object(let object):
            for (key, member) in object {
                if key == "$ref", let text = member.stringValue { references.append(text) }
                collectReferences(member, into: &references)
            }
        case .array(let elements):
            for element in elements { collectReferences(element, into: &references) }
        default:
            break
        }
    }
}

/// The Postman collection of the walkthrough calls routes that exist, with the methods they have.
@Suite struct PostmanCollectionTests {
    @Test func collectionCallsDocumentedRoutes() throws {
        let path = CLIProcess.repositoryRoot + "/docs/postman/events-server.postman_collection.json"
        let collection = try JSONParser().parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        let paths = try #require(OpenAPIDocument.make()["paths"]?.objectValue)
        let items = try #require(collection["item"]?.arrayValue)

        #expect(collection["info"]?["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json")
        #expect(items.count >= 4)
        let variables = Set(collection["variable"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? [])
        for name in ["baseUrl", "username", "password", "clientId", "clientSecret", "accessToken", "eventId"] {
            #expect(variables.contains(name), "missing variable \(name)")
        }
        for item in items {
            let request = try #require(item["request"])
            let method = try #require(request["method"]?.stringValue).lowercased()
            let segments = try #require(request["url"]?["path"]?.arrayValue).compactMap(\.stringValue)
            // {{eventId}} is in the place of the route pattern's {eventId}.
            let pattern = "/" + segments.map { $0.hasPrefix("{{") ? "{" + $0.dropFirst(2).dropLast(2) + "}" : $0 }
                .joined(separator: "/")
            #expect(paths[pattern]?[method] != nil, "\(method.uppercased()) \(pattern) is not a documented route")
        }
    }
}
