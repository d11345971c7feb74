import JSON

/// A response produced by a handler. The server adds `Date`, `Content-Length`, `Connection`,
/// `X-Request-ID` and, when the client accepts it, gzip `Content-Encoding` with `Vary`.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(status: Int, headers: HTTPFields = HTTPFields(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response with `Content-Type: application/json`.
    public static func json(_ status: Int, _ value: JSONValue, headers: HTTPFields = HTTPFields()) -> HTTPResponse {
        json(status, bytes: JSONWriter.encode(value), headers: headers)
    }

    /// A JSON response from bytes that are already encoded.
    public static func json(_ status: Int, bytes: [UInt8], headers: HTTPFields = HTTPFields()) -> HTTPResponse {
        var fields = headers
        if !fields.contains("Content-Type") { fields.append("Content-Type", "application/json") }
        return HTTPResponse(status: status, headers: fields, body: bytes)
    }

    /// The Fluent error body: `{"errors":[{"code":"<status>","message":"<message>"}]}`.
    /// The message says what is wrong and how to fix it.
    public static func error(_ status: Int, _ message: String, headers: HTTPFields = HTTPFields()) -> HTTPResponse {
        let body: JSONValue = ["errors": [["code": .string(String(status)), "message": .string(message)]]]
        return json(status, body, headers: headers)
    }

    /// The reason phrase for `status` (RFC 9110 section 15), or "Unknown".
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Unknown"
        }
    }
}

/// Sends the one response to one request. A handler must call `send` exactly once, from any
/// thread, at any later time; the server writes responses of a connection in request order
/// (pipelining), so a slow request holds back the responses after it on its connection only.
public final class Responder: Sendable {
    private let deliver: @Sendable (HTTPResponse) -> Void

    public init(_ deliver: @escaping @Sendable (HTTPResponse) -> Void) {
        self.deliver = deliver
    }

    public func send(_ response: HTTPResponse) {
        deliver(response)
    }
}

/// A route handler. Handlers of `.inline` routes run on the connection's event-loop thread and
/// must not block. Handlers of `.blocking` routes run on the server's worker pool (see
/// `Router.Execution`).
public typealias HTTPHandler = @Sendable (HTTPRequest, Responder) -> Void
