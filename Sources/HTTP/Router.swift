/// Maps a method and a path to a handler. Patterns are absolute paths whose segments are
/// literals or `{name}` parameters: `/api/v4.1/event/{eventId}`.
///
/// Matching is segment by segment. An unknown path is a 404; a known path with another method is a 405 with
/// `Allow` listing the methods it has (HEAD is allowed wherever GET is).
public struct Router: Sendable {
    /// Where a handler runs.
    public enum Execution: Sendable {
        /// On the event-loop thread: for handlers that never block (in-memory work only).
        case inline
        /// On the server's bounded worker pool: for handlers that touch the database or wait.
        /// When the pool's queue is full, the server answers 503 with `Retry-After` instead.
        case blocking
    }

    /// An answer computed on the event-loop thread from memory alone (a cache), tried before
    /// a `.blocking` route's handler is queued for the worker pool. It returns nil to let the
    /// handler run, and must not block.
    public typealias FastPath = @Sendable (HTTPRequest) -> HTTPResponse?

    /// A registered route.
    public struct Route: Sendable {
        public let method: HTTPMethod
        public let pattern: String
        public let execution: Execution
        public let handler: HTTPHandler
        /// For `.blocking` routes: tried on the event loop first; see `FastPath`.
        public let fastPath: FastPath?
        let segments: [Segment]
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// The outcome of a lookup.
    public enum Match: Sendable {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    public private(set) var routes: [Route] = []

    /// Checks a request head (no body yet) before its body is read: return a response to reject
    /// it at once (a missing token, say), or nil to go on. Rejected requests get no
    /// `100 Continue`. A filter that lets a request through may attach values for the handler
    /// with `HTTPRequest.attachHeadFilterValue`. Runs on the event-loop thread, so it must not block.
    public var headFilter: (@Sendable (inout HTTPRequest, Route) -> HTTPResponse?)?

    public init() {}

    /// Adds a route. A second route with the same method and pattern replaces the first.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, execution: Execution = .inline,
                             fastPath: FastPath? = nil, _ handler: @escaping HTTPHandler) {
        let segments = Router.split(pattern).map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(part)
        }
        routes.removeAll { $0.method == method && $0.segments == segments }
        routes.append(Route(method: method, pattern: pattern, execution: execution, handler: handler, fastPath: fastPath,
                            segments: segments))
    }

    /// Finds the route for `method` and a percent-decoded `path`. A `%2F` decoded into `path`
    /// splits a segment here; the server matches on segments decoded one by one instead.
    public func match(_ method: HTTPMethod, path: String) -> Match {
        match(method, segments: Router.split(path))
    }

    /// Finds the route for `method` and path segments that were percent-decoded one by one.
    public func match(_ method: HTTPMethod, segments: [String]) -> Match {
        var allowed: [HTTPMethod] = []
        for route in routes {
            guard let parameters = Router.bind(route.segments, to: segments) else { continue }
            if route.method == method || (method == .head && route.method == .get) {
                return .found(route, parameters: parameters)
            }
            allowed.append(route.method)
            if route.method == .get { allowed.append(.head) }
        }
        if allowed.isEmpty { return .notFound }
        var unique: [HTTPMethod] = []
        for method in allowed where !unique.contains(method) { unique.append(method) }
        return .methodNotAllowed(allowed: unique)
    }

    /// Every method some route has, for `OPTIONS *`; HEAD is included wherever GET is.
    public var allMethods: [HTTPMethod] {
        var unique: [HTTPMethod] = []
        for route in routes {
            for method in route.method == .get ? [.get, .head] : [route.method] where !unique.contains(method) {
                unique.append(method)
            }
        }
        return unique
    }

    static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
    }

    static func bind(_ segments: [Segment], to parts: [String]) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                if literal != part { return nil }
            case .parameter(let name):
                if part.isEmpty { return nil }
                parameters[name] = part
            }
        }
        return parameters
    }
}
