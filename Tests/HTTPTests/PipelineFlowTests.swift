import Glibc
import Synchronization
import Testing
@testable import HTTP

/// Pipelines that reach the read-ahead or output limits, half-closing clients and large
/// compressed bodies, over real sockets.
@Suite struct PipelineFlowTests {
    @Test func rejectedPipelineThenRouteAnswered() throws {
        let server = try TestServer()
        defer { server.stop() }
        let rejected = [
            request(["GET /nope HTTP/1.1", "Host: a"]),
            request(["POST /guarded HTTP/1.1", "Host: a", "Content-Length: 0"]),
        ]
        for rejectedRequest in rejected {
            let client = try server.client()
            client.send(String(repeating: rejectedRequest, count: 17) + request(["GET /hello HTTP/1.1", "Host: a"]))
            var statuses: [Int] = []
            for _ in 0..<18 {
                let response = try #require(try client.readResponse(timeout: 5))
                statuses.append(response.status)
                if response.status == 200 { #expect(response.bodyText == "hello") }
            }
            #expect(Set(statuses.prefix(17)).count == 1)
            #expect(statuses.first == 404 || statuses.first == 401)
            #expect(statuses.last == 200)
        }
    }

    @Test func largePipelineAnsweredToFastReader() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        let size = 21_700
        client.send(String(repeating: request(["GET /large?bytes=\(size) HTTP/1.1", "Host: a"]), count: 100))
        var sizes: [Int] = []
        for _ in 0..<100 {
            let response = try #require(try client.readResponse(timeout: 10))
            sizes.append(response.body.count)
        }
        #expect(sizes == Array(repeating: size, count: 100))
        #expect(client.staysQuiet(for: 0.1))
    }

    /// Tracks the inline `/stall` route, which blocks the only event loop for 300 ms.
    final class Stall: Sendable {
        let started = Atomic<Bool>(false)
    }

    @Test func halfCloseAfterInlineAnswers() throws {
        let stall = Stall()
        let server = try TestServer({ $0.eventLoopCount = 1 }, routes: { router in
            router.add(.get, "/stall") { _, responder in
                stall.started.store(true, ordering: .relaxed)
                usleep(300_000)
                responder.send(.json(200, ["stalled": true]))
            }
        })
        defer { server.stop() }
        let staller = try server.client()
        staller.send(request(["GET /stall HTTP/1.1", "Host: a"]))
        let deadline = RawClient.now() + 5
        while !stall.started.load(ordering: .relaxed) && RawClient.now() < deadline { usleep(1_000) }
        let stalled = stall.started.load(ordering: .relaxed)
        #expect(stalled)

        // While the loop is blocked, the requests and the FIN both reach the socket, so the loop
        // reads them together, as from a client that writes its requests and then shuts down.
        let client = try server.client()
        client.send(request(["GET /hello HTTP/1.1", "Host: a"]) + request(["GET /hello HTTP/1.1", "Host: a"]))
        client.finishSending()
        let (responses, closed) = try client.readAllResponses(timeout: 5)
        #expect(responses.map(\.status) == [200, 200])
        #expect(responses.map { $0.headers["Connection"] ?? "" } == ["keep-alive", "close"])
        #expect(closed)
        #expect(try staller.readResponse()?.status == 200)
    }

    @Test func largeBodiesCompressedOffLoop() throws {
        let server = try TestServer(routes: { router in
            router.add(.get, "/large-blocking", execution: .blocking) { request, responder in
                let size = Int(request.queryValues("bytes").first ?? "0") ?? 0
                responder.send(HTTPResponse(status: 200, body: [UInt8](repeating: UInt8(ascii: "y"), count: size)))
            }
        })
        defer { server.stop() }
        let size = LargeBodyCompression.minimumBytes + 100_000
        let client = try server.client()
        for (path, byte) in [("/large", UInt8(ascii: "x")), ("/large-blocking", UInt8(ascii: "y"))] {
            client.send(request(["GET \(path)?bytes=\(size) HTTP/1.1", "Host: a", "Accept-Encoding: gzip"]))
            let compressed = try #require(try client.readResponse())
            #expect(compressed.headers["Content-Encoding"] == "gzip", "\(path)")
            #expect(compressed.headers.values("Vary") == ["Accept-Encoding"], "\(path)")
            #expect(compressed.body.count < size / 10, "\(path)")
            let decoded = try GzipCodec.decompress(compressed.body, limit: size).get()
            #expect(decoded == [UInt8](repeating: byte, count: size), "\(path)")

            client.send(request(["HEAD \(path)?bytes=\(size) HTTP/1.1", "Host: a", "Accept-Encoding: gzip"]))
            let head = try #require(try client.readResponse(bodyless: true))
            #expect(head.headers["Content-Encoding"] == "gzip", "\(path)")
            #expect(head.headers["Content-Length"] == String(compressed.body.count), "\(path)")

            client.send(request(["GET \(path)?bytes=\(size) HTTP/1.1", "Host: a"]))
            let plain = try #require(try client.readResponse())
            #expect(plain.headers["Content-Encoding"] == nil, "\(path)")
            #expect(plain.body.count == size, "\(path)")
        }
    }
}
