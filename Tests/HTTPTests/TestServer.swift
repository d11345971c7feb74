import Foundation
import Glibc
import HTTP
import JSON
import Synchronization
import Telemetry

/// A real HTTPServer on an ephemeral port of 127.0.0.1 with the routes the protocol tests use.
///
/// - `GET /hello`: `hello` as text.
/// - `POST /events` (blocking): stores the body and responds 201 with its length; tests check
///   `storedBodies` to see which requests a handler really received.
/// - `GET /search?delayMs=N` (blocking): answers after N milliseconds.
/// - `GET /big`: a 4 KiB JSON document, for gzip.
/// - `GET /items/{id}`: the decoded `id` parameter.
/// - `GET /query`: the decoded query pairs as a JSON array.
/// - `GET /block` (blocking): waits until `releaseBlocked()`.
/// - `POST /guarded` (blocking): like `/events`, but the head filter answers 401 without
///   `Authorization`.
/// - `GET /large?bytes=N`: N bytes of `x`.
final class TestServer: Sendable {
    let server: HTTPServer
    let port: Int
    /// This server's own metrics, so tests can read its gauges without other servers' values.
    let metrics = MetricsRegistry()

    static let bigDocument: [UInt8] = {
        var items: [JSONValue] = []
        for index in 0..<60 { items.append(["sku": .string("SKU-\(index)"), "quantity": .integer(Int64(index))]) }
        return JSONWriter.encode(["items": .array(items)])
    }()

    init(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in }, routes extraRoutes: (inout Router) -> Void = { _ in }) throws {
        TestServer.raiseFileLimit()
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.eventLoopCount = 2
        configuration.workerThreadCount = 4
        configuration.handlesSignals = false
        configuration.accessLogLevel = .debug
        configuration.shutdownDeadline = 5
        configure(&configuration)

        let recorder = Recorder()
        var router = Router()
        router.add(.get, "/hello") { _, responder in
            responder.send(HTTPResponse(status: 200, headers: HTTPFields([("Content-Type", "text/plain")]), body: Array("hello".utf8)))
        }
        router.add(.post, "/events", execution: .blocking) { request, responder in
            recorder.stored.withLock { $0.append(request.body) }
            responder.send(.json(201, ["length": .integer(Int64(request.body.count))]))
        }
        router.add(.get, "/search", execution: .blocking) { request, responder in
            let delay = Int(request.queryValues("delayMs").first ?? "0") ?? 0
            usleep(UInt32(delay * 1000))
            responder.send(.json(200, ["search": "done"]))
        }
        router.add(.get, "/big") { _, responder in
            responder.send(.json(200, bytes: TestServer.bigDocument))
        }
        router.add(.get, "/items/{id}") { request, responder in
            responder.send(.json(200, ["id": .string(request.pathParameters["id"] ?? "")]))
        }
        router.add(.get, "/query") { request, responder in
            let pairs = request.query.map { JSONValue.array([.string($0.name), .string($0.value)]) }
            responder.send(.json(200, .array(pairs)))
        }
        router.add(.get, "/block", execution: .blocking) { _, responder in
            recorder.blockedCount.add(1, ordering: .relaxed)
            while !recorder.gate.withLock({ $0 }) { usleep(1_000) }
            responder.send(.json(200, ["released": true]))
        }
        router.add(.post, "/guarded", execution: .blocking) { request, responder in
            recorder.stored.withLock { $0.append(request.body) }
            responder.send(.json(201, ["length": .integer(Int64(request.body.count))]))
        }
        router.add(.get, "/large") { request, responder in
            let size = Int(request.queryValues("bytes").first ?? "0") ?? 0
            responder.send(HTTPResponse(status: 200, headers: HTTPFields([("Content-Type", "application/octet-stream")]),
                                        body: [UInt8](repeating: UInt8(ascii: "x"), count: size)))
        }
        // `/guarded` needs an Authorization field, checked before the body is read.
        router.headFilter = { request, _ in
            guard request.path == "/guarded", request.headers["Authorization"] == nil else { return nil }
            return .error(401, "the Authorization field is missing; send Authorization: Bearer <token>")
        }
        extraRoutes(&router)

        server = HTTPServer(configuration: configuration, router: router, metrics: metrics)
        port = try server.start()
        self.recorder = recorder
    }

    /// Bodies received by `POST /events`, and the gate of `GET /block`.
    final class Recorder: Sendable {
        let stored = Mutex<[[UInt8]]>([])
        let gate = Mutex(false)
        let blockedCount = Atomic<Int>(0)
    }

    /// Waits until `count` requests to `GET /block` are running; false after 5 seconds.
    func waitForBlocked(_ count: Int) -> Bool {
        let deadline = RawClient.now() + 5
        while recorder.blockedCount.load(ordering: .relaxed) < count {
            if RawClient.now() > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    private let recorder: Recorder

    var storedBodies: [String] {
        recorder.stored.withLock { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    func releaseBlocked() {
        recorder.gate.withLock { $0 = true }
    }

    func client() throws -> RawClient { try RawClient(port: port) }

    func stop() {
        releaseBlocked()
        server.shutdown()
    }

    /// Raises the soft descriptor limit to the hard one, as CI containers often start at 1024.
    static func raiseFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    static func fileLimit() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(min(limit.rlim_cur, 1 << 30))
    }
}

/// Builds a request with CRLF line ends from lines; the body follows the empty line.
func request(_ lines: [String], body: String = "") -> String {
    lines.joined(separator: "\r\n") + "\r\n\r\n" + body
}
