import Foundation
import Glibc
import Testing
@testable import HTTP

/// Connection handling cases from the failure list: pipelining, 100-continue, HTTP/1.0
/// keep-alive, oversized heads and slow clients, over real sockets.
@Suite struct ConnectionFailureTests {
    static let event = FramingFailureTests.event

    @Test func pipelinedRequestsAllAnswered() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        let bytes = request(["GET /hello HTTP/1.1", "Host: a"])
            + request(["POST /events HTTP/1.1", "Host: a", "Content-Length: \(ConnectionFailureTests.event.utf8.count)"], body: ConnectionFailureTests.event)
            + request(["GET /items/third HTTP/1.1", "Host: a"])
        client.send(bytes)
        let first = try #require(try client.readResponse())
        let second = try #require(try client.readResponse())
        let third = try #require(try client.readResponse())
        #expect(first.bodyText == "hello")
        #expect(second.status == 201)
        #expect(third.bodyText == #"{"id":"third"}"#)
        #expect(server.storedBodies == [ConnectionFailureTests.event])
        #expect(client.staysQuiet(for: 0.2))

        // Forty requests mixing inline and blocking routes, more than the read-ahead limit.
        var many = ""
        for index in 0..<40 {
            many += index % 2 == 0
                ? request(["GET /items/\(index) HTTP/1.1", "Host: a"])
                : request(["POST /events HTTP/1.1", "Host: a", "Content-Length: \(String(index).utf8.count)"], body: String(index))
        }
        client.send(many)
        for index in 0..<40 {
            let response = try #require(try client.readResponse())
            if index % 2 == 0 {
                #expect(response.bodyText == "{\"id\":\"\(index)\"}")
            } else {
                #expect(response.bodyText == "{\"length\":\(String(index).utf8.count)}")
            }
        }
        #expect(server.storedBodies.count == 21)
    }

    @Test func pipelinedResponsesInOrder() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        client.send(request(["GET /search?delayMs=300 HTTP/1.1", "Host: a"]) + request(["GET /missing HTTP/1.1", "Host: a"])
                    + request(["GET /hello HTTP/1.1", "Host: a"]) + request(["GET /search?delayMs=50 HTTP/1.1", "Host: a"]))
        let statuses = try (0..<4).map { _ in try #require(try client.readResponse()).status }
        #expect(statuses == [200, 404, 200, 200])
        let ids = try (0..<3).map { _ -> String in
            client.send(request(["GET /search?delayMs=\(100) HTTP/1.1", "Host: a", "X-Request-ID: order-\(0)"]))
            return try #require(try client.readResponse()).headers["X-Request-ID"] ?? ""
        }
        #expect(ids == ["order-0", "order-0", "order-0"])
    }

    @Test func expectContinueAnsweredBeforeBody() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = ConnectionFailureTests.event
        let client = try server.client()
        client.send(request(["POST /events HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: \(body.utf8.count)"]))
        let interim = try #require(try client.readResponse(timeout: 1))
        #expect(interim.status == 100)
        #expect(server.storedBodies.isEmpty)
        client.send(body)
        let final = try #require(try client.readResponse())
        #expect(final.status == 201)
        #expect(!final.closes)
        #expect(server.storedBodies == [body])

        // Chunked body after 100 Continue, on the same connection.
        client.send(request(["POST /events HTTP/1.1", "Host: a", "Expect: 100-continue", "Transfer-Encoding: chunked"]))
        #expect(try client.readResponse(timeout: 1)?.status == 100)
        client.send("4\r\nabcd\r\n0\r\n\r\n")
        #expect(try client.readResponse()?.status == 201)
    }

    @Test func expectContinueRejectedWithoutInterim() throws {
        let server = try TestServer { $0.maxBodyBytes = 1_000 }
        defer { server.stop() }
        let cases: [([String], Int)] = [
            (["POST /events HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 5000"], 413),
            (["POST /guarded HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 10"], 401),
            (["POST /missing HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 10"], 404),
            (["PUT /events HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 10"], 405),
            (["POST /events HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Encoding: br", "Content-Length: 10"], 415),
            (["POST /events HTTP/1.1", "Host: a", "Expect: 200-ok", "Content-Length: 10"], 417),
        ]
        for (lines, status) in cases {
            let client = try server.client()
            client.send(request(lines))
            let (responses, closed) = try client.readAllResponses(timeout: 3)
            #expect(responses.map(\.status) == [status], "\(lines)")
            #expect(responses.first?.closes == true, "\(lines)")
            #expect(closed, "\(lines)")
        }
        #expect(server.storedBodies.isEmpty)
    }

    @Test func http10KeepAliveOnlyWhenAsked() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plain = try server.client()
        plain.send(request(["GET /hello HTTP/1.0"]))
        let closing = try #require(try plain.readResponse())
        #expect(closing.status == 200)
        #expect(closing.headers["Connection"] == "close")
        #expect(plain.waitForClose(timeout: 2))

        // Like `ab -k -n 1000`: a thousand HTTP/1.0 keep-alive requests on one connection.
        let keepAlive = try server.client()
        for index in 0..<1_000 {
            keepAlive.send(request(["GET /hello HTTP/1.0", "Connection: keep-alive"]))
            let response = try #require(try keepAlive.readResponse(), "request \(index)")
            #expect(response.headers["Connection"] == "keep-alive")
            if response.headers["Connection"] != "keep-alive" { break }
        }
        #expect(keepAlive.staysQuiet(for: 0.1))
        keepAlive.send(request(["GET /hello HTTP/1.0"]))
        #expect(try keepAlive.readResponse()?.closes == true)
        #expect(keepAlive.waitForClose(timeout: 2))
    }

    /// Sends `bytes` from another thread while this one reads the answer, so the test does not
    /// depend on how much the server reads before it answers.
    static func sendLarge(_ bytes: [UInt8], to client: RawClient) -> Thread {
        let sender = Thread {
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + 16_384, bytes.count)
                if !client.send(Array(bytes[offset..<end])) { break }
                offset = end
            }
        }
        sender.start()
        return sender
    }

    @Test func hugeRequestLineAndHeadersBounded() throws {
        let server = try TestServer()
        defer { server.stop() }
        let oneMiB = 1_048_576
        let hugeField = Array("GET /hello HTTP/1.1\r\nHost: a\r\nX-Huge: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: oneMiB)
        let manyLines = Array(("GET /hello HTTP/1.1\r\nHost: a\r\n" + (0..<10_000).map { "X-\($0): v\r\n" }.joined() + "\r\n").utf8)
        let endlessLine = Array("GET /".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: oneMiB)
        let endlessEmptyName = Array("GET /hello HTTP/1.1\r\nHost: a\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "b"), count: oneMiB)
        for (bytes, status) in [(hugeField, 431), (manyLines, 431), (endlessLine, 414), (endlessEmptyName, 431)] {
            let client = try server.client()
            _ = ConnectionFailureTests.sendLarge(bytes, to: client)
            let response = try #require(try client.readResponse(timeout: 5))
            #expect(response.status == status)
            #expect(response.closes)
            #expect(client.waitForClose(timeout: 5))
        }
        try FramingFailureTests.expectStillServing(server)
    }

    @Test func slowlorisClosedAtHeaderDeadline() throws {
        let server = try TestServer { $0.headerReadTimeout = 1 }
        defer { server.stop() }
        let start = RawClient.now()
        var slow: [RawClient] = []
        for _ in 0..<200 {
            let client = try server.client()
            client.send("GET /hello HTTP/1.1\r\nHost: a\r\n")
            slow.append(client)
        }
        // Trickle one header line per slow client every 200 ms while normal clients are served.
        var normalLatencies: [Double] = []
        var round = 0
        while RawClient.now() - start < 1.6 {
            for client in slow { client.send("X-Slow-\(round): v\r\n") }
            round += 1
            let normal = try server.client()
            let sent = RawClient.now()
            normal.send(request(["GET /hello HTTP/1.1", "Host: a", "Connection: close"]))
            #expect(try normal.readResponse()?.status == 200)
            normalLatencies.append(RawClient.now() - sent)
            usleep(200_000)
        }
        #expect(normalLatencies.count >= 5)
        // Well under a second even on a loaded 2-core machine; an unprotected server takes seconds.
        #expect(normalLatencies.allSatisfy { $0 < 1 }, "normal latencies \(normalLatencies)")
        for client in slow {
            let (responses, closed) = try client.readAllResponses(timeout: 2)
            #expect(responses.map(\.status) == [408])
            #expect(closed)
        }
        #expect(RawClient.now() - start < 6)
    }

    @Test func slowBodyTimesOut() throws {
        let server = try TestServer { $0.bodyReadTimeout = 0.5 }
        defer { server.stop() }
        let client = try server.client()
        client.send(request(["POST /events HTTP/1.1", "Host: a", "Content-Length: 10"], body: "abc"))
        let (responses, closed) = try client.readAllResponses(timeout: 3)
        #expect(responses.map(\.status) == [408])
        #expect(closed)
        #expect(server.storedBodies.isEmpty)
    }

    @Test func idleKeepAliveClosed() throws {
        let server = try TestServer { $0.keepAliveTimeout = 0.5 }
        defer { server.stop() }
        let client = try server.client()
        client.send(request(["GET /hello HTTP/1.1", "Host: a"]))
        #expect(try client.readResponse()?.status == 200)
        let idleStart = RawClient.now()
        #expect(client.waitForClose(timeout: 3))
        #expect(RawClient.now() - idleStart >= 0.4)
        #expect(client.unparsed.isEmpty)
    }

    @Test func slowReaderDisconnected() throws {
        let server = try TestServer { $0.writeTimeout = 1 }
        defer { server.stop() }
        let reader = try server.client()
        var receiveBuffer: Int32 = 4_096
        setsockopt(reader.fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
        // Sixteen 1 MiB responses that the client never reads.
        reader.send(String(repeating: request(["GET /large?bytes=1048576 HTTP/1.1", "Host: a"]), count: 16))
        usleep(300_000)
        let other = try server.client()
        let sent = RawClient.now()
        other.send(request(["GET /hello HTTP/1.1", "Host: a"]))
        #expect(try other.readResponse()?.status == 200)
        #expect(RawClient.now() - sent < 1)
        usleep(1_700_000)
        // Drain what the kernel buffered; the server must have closed or reset the connection.
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = RawClient.now() + 5
        var ended = false
        while RawClient.now() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(reader.fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { ended = true; break }
            total += count
        }
        #expect(ended)
        #expect(total < 16 * 1_048_576)
    }
}
