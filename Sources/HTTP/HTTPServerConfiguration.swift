import Glibc
import Telemetry

/// Settings of an `HTTPServer`. Every limit and timeout has a default that is safe for a server
/// reachable from untrusted clients; sizes are bytes, durations are seconds.
public struct HTTPServerConfiguration: Sendable {
    /// The address to listen on: an IPv4 or IPv6 literal (`127.0.0.1`, `::1`, `0.0.0.0`, `::`)
    /// or a host name resolved once at start.
    public var host = "127.0.0.1"
    /// The TCP port; 0 binds an ephemeral port, which `HTTPServer.start()` returns.
    public var port = 8080
    /// Event-loop threads, each with its own epoll instance and `SO_REUSEPORT` listening socket.
    /// The default is one per online processor.
    public var eventLoopCount = HTTPServerConfiguration.onlineProcessorCount()
    /// Open connections across all loops. A connection accepted beyond it gets a 503 and is closed.
    public var maxConnections = 10_000

    /// The maximum request-line length, without its CRLF. Longer ones get 414.
    public var maxRequestLineBytes = 8_192
    /// The maximum size of the field section (every field line with its CRLF). Larger ones get 431.
    public var maxHeaderBytes = 32_768
    /// The maximum number of field lines in the header section. More get 431.
    public var maxHeaderCount = 100
    /// The maximum request body size after any transfer coding and any `Content-Encoding: gzip`
    /// is removed. Larger bodies get 413.
    public var maxBodyBytes = 1_048_576
    /// Requests of one connection that are parsed and dispatched while earlier ones still wait
    /// for their responses to be queued for writing. The next request is parsed only while
    /// fewer wait and less than 1 MiB of output is queued, so one connection keeps at most
    /// 1 MiB plus this many responses. nginx (1.x) handles pipelined requests one at a time.
    public var maxPipelinedRequests = 4

    /// Time allowed from the first byte of a request to the end of its header section (408 after).
    public var headerReadTimeout = 10.0
    /// Time allowed from the end of the header section to the end of the body (408 after).
    public var bodyReadTimeout = 30.0
    /// Time an idle keep-alive connection stays open waiting for the next request.
    public var keepAliveTimeout = 60.0
    /// Time a client may take to accept any more bytes of a response before it is disconnected.
    public var writeTimeout = 30.0

    /// Threads that run `.blocking` routes.
    public var workerThreadCount = 8
    /// `.blocking` requests waiting for a worker. A request beyond it gets 503 with `Retry-After`.
    public var workerQueueLimit = 1_024
    /// The `Retry-After` value, in seconds, of a 503 for a full worker queue or connection limit.
    public var retryAfterSeconds = 1

    /// Time `shutdown()` lets in-flight requests finish before it closes their connections.
    public var shutdownDeadline = 10.0
    /// Whether `start()` makes SIGTERM and SIGINT call `shutdown()`.
    public var handlesSignals = true

    /// Responses with a body of at least this many bytes are gzip-compressed when the client
    /// accepts gzip.
    public var compressionThreshold = 1_024
    /// The zlib compression level, 1 (fastest) to 9 (smallest).
    public var compressionLevel = 5

    /// The level of the one access-log line written per request.
    public var accessLogLevel = LogLevel.info

    public init() {}

    /// Checks every value and throws a message that names the setting and its valid range.
    public func validate() throws(HTTPServerError) {
        func require(_ condition: Bool, _ message: String) throws(HTTPServerError) {
            if !condition { throw HTTPServerError.invalidConfiguration(message) }
        }
        try require((0...65_535).contains(port), "port must be between 0 and 65535, got \(port)")
        try require((1...256).contains(eventLoopCount), "eventLoopCount must be between 1 and 256, got \(eventLoopCount)")
        try require(maxConnections >= 1, "maxConnections must be at least 1, got \(maxConnections)")
        try require(maxRequestLineBytes >= 64, "maxRequestLineBytes must be at least 64, got \(maxRequestLineBytes)")
        try require(maxHeaderBytes >= 256, "maxHeaderBytes must be at least 256, got \(maxHeaderBytes)")
        try require(maxHeaderCount >= 4, "maxHeaderCount must be at least 4, got \(maxHeaderCount)")
        try require(maxBodyBytes >= 0, "maxBodyBytes must not be negative, got \(maxBodyBytes)")
        try require(maxPipelinedRequests >= 1, "maxPipelinedRequests must be at least 1, got \(maxPipelinedRequests)")
        for (name, value) in [("headerReadTimeout", headerReadTimeout), ("bodyReadTimeout", bodyReadTimeout),
                              ("keepAliveTimeout", keepAliveTimeout), ("writeTimeout", writeTimeout),
                              ("shutdownDeadline", shutdownDeadline)] {
            try require(value > 0 && value <= 86_400, "\(name) must be between 0 and 86400 seconds (exclusive of 0), got \(value)")
        }
        try require(workerThreadCount >= 1, "workerThreadCount must be at least 1, got \(workerThreadCount)")
        try require(workerQueueLimit >= 0, "workerQueueLimit must not be negative, got \(workerQueueLimit)")
        try require(retryAfterSeconds >= 0, "retryAfterSeconds must not be negative, got \(retryAfterSeconds)")
        try require(compressionThreshold >= 0, "compressionThreshold must not be negative, got \(compressionThreshold)")
        try require((1...9).contains(compressionLevel), "compressionLevel must be between 1 and 9, got \(compressionLevel)")
    }

    /// Returns the number of online processors, at least 1.
    public static func onlineProcessorCount() -> Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
