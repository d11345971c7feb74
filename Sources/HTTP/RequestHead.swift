/// A parsed request line and header section, with the framing and connection facts derived
/// from its fields (RFC 9112 sections 6 and 9).
struct RequestHead: Sendable {
    /// The delimiting of the message body (RFC 9112 section 6.3).
    enum Framing: Sendable, Equatable {
        case length(Int)
        case chunked
    }

    /// The `Expect` field (RFC 9110 section 10.1.1).
    enum Expectation: Sendable, Equatable {
        case none
        case continue100
        case unsupported(String)
    }

    var method: HTTPMethod
    var target: String
    var version: HTTPVersion
    var fields: HTTPFields
    var framing: Framing
    /// Whether the client lets the connection stay open after this request.
    var keepAlive: Bool
    var expectation: Expectation

    /// Whether a body follows the head (a positive length or chunked).
    var hasBody: Bool { framing != .length(0) }
}
