import Glibc

/// Errors of `HTTPServer.start()`: a bad setting or a socket call that failed.
public enum HTTPServerError: Error, CustomStringConvertible, Sendable {
    case invalidConfiguration(String)
    /// A system call failed: the call, the address it concerned and `errno`.
    case system(call: String, address: String, errno: Int32)
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            return "invalid HTTP server configuration: \(message)"
        case .system(let call, let address, let code):
            return "\(call) failed for \(address): \(String(cString: strerror(code))) (errno \(code))"
        case .alreadyStarted:
            return "the HTTP server was already started; create a new HTTPServer to serve again"
        }
    }
}
