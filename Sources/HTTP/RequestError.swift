/// A rejection of a request before any handler runs: the response status and a message that
/// states what is wrong and how to fix it. `closesConnection` is set for framing errors,
/// after which the rest of the byte stream cannot be trusted.
struct RequestError: Error, Equatable, Sendable {
    let status: Int
    let message: String
    let closesConnection: Bool

    init(_ status: Int, _ message: String, closesConnection: Bool = true) {
        self.status = status
        self.message = message
        self.closesConnection = closesConnection
    }

    var response: HTTPResponse { HTTPResponse.error(status, message) }
}
