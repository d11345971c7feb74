import HTTP

/// An error sent with Fluent's error body, `{"errors":[{"code":"<status>","message":...}]}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var headers: HTTPFields

    public init(_ status: Int, _ message: String, headers: HTTPFields = HTTPFields()) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var response: HTTPResponse {
        HTTPResponse.error(status, message, headers: headers)
    }

    public var description: String { "\(status): \(message)" }

    public static func badRequest(_ message: String) -> APIError { APIError(400, message) }
    public static func forbidden(_ message: String) -> APIError { APIError(403, message) }
    public static func notFound(_ message: String) -> APIError { APIError(404, message) }

    /// 401 with `WWW-Authenticate: Bearer` (RFC 6750 section 3); `error` is set when a token
    /// was sent but is not valid.
    public static func unauthorized(_ message: String, invalidToken: Bool) -> APIError {
        var headers = HTTPFields()
        let challenge = invalidToken
            ? #"Bearer realm="events", error="invalid_token", error_description="\#(message)""#
            : #"Bearer realm="events""#
        headers.append("WWW-Authenticate", challenge)
        return APIError(401, message, headers: headers)
    }

    /// 500 for a failure the client cannot fix; the details go to the log, not the response.
    public static func internalError(requestID: String) -> APIError {
        APIError(500, "internal error while handling the request; the server log has the details under requestId \(requestID)")
    }
}
