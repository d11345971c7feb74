import HTTP
import JSON

/// `GET /api/v4.1/openapi.json`: the OpenAPI document, without authentication so tools can
/// fetch it before they have a token. Encoded once, since it never changes while the server runs.
public struct OpenAPIRoutes: Sendable {
    public static let documentPath = "/api/v4.1/openapi.json"

    private let body: [UInt8]

    public init(serverURL: String? = nil) {
        body = OpenAPIDocument.encoded(serverURL: serverURL)
    }

    public func register(into router: inout Router) {
        let body = self.body
        router.add(.get, OpenAPIRoutes.documentPath, execution: .inline) { _, responder in
            responder.send(.json(200, bytes: body))
        }
    }
}
