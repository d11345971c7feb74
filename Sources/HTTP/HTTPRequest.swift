import Telemetry

/// The request method (RFC 9110 section 9). Compared case-sensitively, as the RFC requires.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let get = HTTPMethod("GET")
    public static let head = HTTPMethod("HEAD")
    public static let post = HTTPMethod("POST")
    public static let put = HTTPMethod("PUT")
    public static let delete = HTTPMethod("DELETE")
    public static let patch = HTTPMethod("PATCH")
    public static let options = HTTPMethod("OPTIONS")
    public static let connect = HTTPMethod("CONNECT")
    public static let trace = HTTPMethod("TRACE")

    public var description: String { rawValue }
}

/// The protocol version of a request: HTTP/1.0 or HTTP/1.1.
public enum HTTPVersion: Sendable, Equatable {
    case http10
    case http11

    public var text: String { self == .http10 ? "HTTP/1.0" : "HTTP/1.1" }
}

/// A complete request as handed to a route handler: head parsed, body read and decoded.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request-target as sent (RFC 9112 section 3.2).
    public var target: String
    /// The percent-decoded path, without the query.
    public var path: String
    /// The query parameters in order, names and values percent-decoded. A bare `+` stays a
    /// literal `+` (it is not a space: RFC 3986 gives `+` no special meaning), and `%2B` is `+`.
    public var query: [(name: String, value: String)]
    public var version: HTTPVersion
    public var headers: HTTPFields
    /// The body after any `Content-Encoding: gzip` was decoded; empty when there was none.
    public var body: [UInt8]
    /// From a valid `X-Request-ID` request field, else generated; sent back in the response.
    public var requestID: String
    /// The peer's address as text (`127.0.0.1` or `::1`).
    public var remoteAddress: String
    /// Values of the route pattern's `{name}` segments, percent-decoded.
    public var pathParameters: [String: String]
    /// The server's logger; `logger` adds the request id to it.
    public var baseLogger: Logger
    /// Values that head filters attached for the handler, at most one per type.
    private var headFilterValues: [(type: ObjectIdentifier, value: any Sendable)] = []
    /// A logger that writes `requestId` on every line. Built on use, so requests whose
    /// handlers do not log pay nothing for it.
    public var logger: Logger { baseLogger.with("requestId", requestID) }

    public init(method: HTTPMethod, target: String, path: String, query: [(name: String, value: String)] = [],
                version: HTTPVersion = .http11, headers: HTTPFields = HTTPFields(), body: [UInt8] = [],
                requestID: String = "", remoteAddress: String = "", pathParameters: [String: String] = [:],
                logger: Logger = Logger(label: "http")) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
        self.requestID = requestID
        self.remoteAddress = remoteAddress
        self.pathParameters = pathParameters
        self.baseLogger = logger
    }

    /// Returns the value of type `Value` that a head filter attached to the request, or nil.
    public func headFilterValue<Value: Sendable>(_ type: Value.Type) -> Value? {
        let key = ObjectIdentifier(type)
        for entry in headFilterValues where entry.type == key {
            return entry.value as? Value
        }
        return nil
    }

    /// Attaches `value` for the handler. It replaces only an earlier value of the same type,
    /// so filters that run one after another keep each other's values.
    public mutating func attachHeadFilterValue<Value: Sendable>(_ value: Value) {
        let key = ObjectIdentifier(Value.self)
        if let index = headFilterValues.firstIndex(where: { $0.type == key }) {
            headFilterValues[index].value = value
        } else {
            headFilterValues.append((key, value))
        }
    }

    /// Returns every value of the query parameter `name`, in order.
    public func queryValues(_ name: String) -> [String] {
        query.filter { $0.name == name }.map(\.value)
    }
}
