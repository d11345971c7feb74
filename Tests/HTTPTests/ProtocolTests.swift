import Glibc
import JSON
import Testing
@testable import HTTP

/// Request-target forms, methods, request ids and response framing over real sockets.
@Suite struct ProtocolTests {
    static func exchange(_ server: TestServer, _ bytes: String, bodyless: Bool = false) throws -> RawResponse {
        let client = try server.client()
        client.send(bytes)
        return try #require(try client.readResponse(bodyless: bodyless))
    }

    @Test func optionsAndAsteriskForm() throws {
        let server = try TestServer()
        defer { server.stop() }
        let any = try ProtocolTests.exchange(server, request(["OPTIONS * HTTP/1.1", "Host: a"]))
        #expect(any.status == 204)
        let allowed = Set((any.headers["Allow"] ?? "").split(separator: ",").map { $0.trimmingWhitespace() })
        #expect(allowed == ["GET", "HEAD", "POST", "OPTIONS"])
        let path = try ProtocolTests.exchange(server, request(["OPTIONS /events HTTP/1.1", "Host: a"]))
        #expect(path.status == 204)
        #expect(path.headers["Allow"] == "POST, OPTIONS")
        let wrongMethod = try ProtocolTests.exchange(server, request(["GET * HTTP/1.1", "Host: a"]))
        #expect(wrongMethod.status == 400)
    }

    @Test func connectAnswered501() throws {
        let server = try TestServer()
        defer { server.stop() }
        for target in ["example.com:443", "127.0.0.1:80", "/hello"] {
            let client = try server.client()
            client.send(request(["CONNECT \(target) HTTP/1.1", "Host: \(target)"]))
            let (responses, closed) = try client.readAllResponses(timeout: 3)
            #expect(responses.map(\.status) == [501], "CONNECT \(target)")
            #expect(closed)
        }
    }

    @Test func unknownMethodAndPath() throws {
        let server = try TestServer()
        defer { server.stop() }
        let notFound = try ProtocolTests.exchange(server, request(["GET /nothing/here HTTP/1.1", "Host: a"]))
        #expect(notFound.status == 404)
        let body = try JSONParser().parse(notFound.body)
        let error = body["errors"]?.arrayValue?.first
        #expect(error?["code"]?.stringValue == "404")
        #expect(error?["message"]?.stringValue?.contains("/nothing/here") == true)
        #expect(notFound.headers["Content-Type"] == "application/json")
        let wrong = try ProtocolTests.exchange(server, request(["DELETE /hello HTTP/1.1", "Host: a"]))
        #expect(wrong.status == 405)
        #expect(wrong.headers["Allow"] == "GET, HEAD, OPTIONS")
        let custom = try ProtocolTests.exchange(server, request(["PURGE /hello HTTP/1.1", "Host: a"]))
        #expect(custom.status == 405)
    }

    @Test func absoluteFormTarget() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try ProtocolTests.exchange(server, request(["GET http://example.com/items/abs?x=1 HTTP/1.1", "Host: example.com"]))
        #expect(response.bodyText == #"{"id":"abs"}"#)
    }

    @Test func invalidHostAndUserinfoRejected() throws {
        let server = try TestServer()
        defer { server.stop() }
        let cases = [
            request(["GET /hello HTTP/1.1", "Host: a b"]),
            request(["GET /hello HTTP/1.1", "Host: a/b@c"]),
            request(["GET /hello HTTP/1.0", "Host: a b"]),
            request(["GET http://u:p@x/hello HTTP/1.1", "Host: x"]),
            request(["GET http:///hello HTTP/1.1", "Host: x"]),
        ]
        for bytes in cases {
            let response = try ProtocolTests.exchange(server, bytes)
            #expect(response.status == 400, "\(bytes.debugDescription)")
        }
        let valid = try ProtocolTests.exchange(server, request(["GET http://x:8080/hello HTTP/1.1", "Host: x:8080"]))
        #expect(valid.status == 200)
    }

    @Test func percentDecodingOverSockets() throws {
        let server = try TestServer()
        defer { server.stop() }
        let item = try ProtocolTests.exchange(server, request(["GET /items/a%2Fb%20c HTTP/1.1", "Host: a"]))
        #expect(item.bodyText == #"{"id":"a/b c"}"#)
        let query = try ProtocolTests.exchange(server, request(["GET /query?x=a+b&y=%2B&z=%2b1 HTTP/1.1", "Host: a"]))
        #expect(query.bodyText == #"[["x","a+b"],["y","+"],["z","+1"]]"#)
        let client = try server.client()
        client.send(request(["GET /items/%zz HTTP/1.1", "Host: a"]))
        let invalid = try #require(try client.readResponse())
        #expect(invalid.status == 400)
        #expect(!invalid.closes, "a bad target without a body leaves the framing intact")
        client.send(request(["GET /hello HTTP/1.1", "Host: a"]))
        #expect(try client.readResponse()?.status == 200)
    }

    @Test func requestIDsEchoedOrGenerated() throws {
        let server = try TestServer()
        defer { server.stop() }
        let valid = "abc.DEF_123-" + String(repeating: "x", count: 116)
        #expect(try ProtocolTests.exchange(server, request(["GET /hello HTTP/1.1", "Host: a", "X-Request-ID: \(valid)"])).headers["X-Request-ID"] == valid)
        for invalid in ["has space", "semi;colon", String(repeating: "x", count: 129), "ünïcode", ""] {
            let id = try ProtocolTests.exchange(server, request(["GET /hello HTTP/1.1", "Host: a", "X-Request-ID: \(invalid)"])).headers["X-Request-ID"]
            #expect(id != nil, "\(invalid)")
            #expect(id != invalid, "\(invalid)")
            #expect(!(id ?? "").isEmpty, "\(invalid)")
        }
        let first = try ProtocolTests.exchange(server, request(["GET /hello HTTP/1.1", "Host: a"])).headers["X-Request-ID"]
        let second = try ProtocolTests.exchange(server, request(["GET /hello HTTP/1.1", "Host: a"])).headers["X-Request-ID"]
        #expect(first != second)
    }

    @Test func headHasGetFieldsWithoutBody() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        client.send(request(["HEAD /big HTTP/1.1", "Host: a", "Accept-Encoding: gzip"]))
        let head = try #require(try client.readResponse(bodyless: true))
        client.send(request(["GET /big HTTP/1.1", "Host: a", "Accept-Encoding: gzip"]))
        let get = try #require(try client.readResponse())
        #expect(head.status == 200)
        #expect(head.headers["Content-Length"] == get.headers["Content-Length"])
        #expect(head.headers["Content-Encoding"] == "gzip")
        #expect(client.staysQuiet(for: 0.1))
    }

    @Test func unsafeHandlerFieldsDropped() throws {
        let server = try TestServer(routes: { router in
            router.add(.get, "/split") { _, responder in
                var headers = HTTPFields()
                headers.append("X-Injected", "a\r\nSet-Cookie: evil=1")
                headers.append("Bad Name", "x")
                headers.append("X-Fine", "ok")
                headers.append("Content-Length", "999")
                responder.send(HTTPResponse(status: 200, headers: headers, body: Array("body".utf8)))
            }
            router.add(.get, "/twice") { _, responder in
                responder.send(.json(200, ["first": true]))
                responder.send(.json(500, ["second": true]))
            }
            router.add(.get, "/close") { _, responder in
                responder.send(HTTPResponse(status: 200, headers: HTTPFields([("Connection", "close")]), body: []))
            }
        })
        defer { server.stop() }
        let split = try ProtocolTests.exchange(server, request(["GET /split HTTP/1.1", "Host: a"]))
        #expect(split.headers["Set-Cookie"] == nil)
        #expect(split.headers["X-Injected"] == nil)
        #expect(split.headers["X-Fine"] == "ok")
        #expect(split.headers["Content-Length"] == "4")
        let client = try server.client()
        client.send(request(["GET /twice HTTP/1.1", "Host: a"]))
        #expect(try client.readResponse()?.bodyText == #"{"first":true}"#)
        #expect(client.staysQuiet(for: 0.2))
        client.send(request(["GET /close HTTP/1.1", "Host: a"]))
        #expect(try client.readResponse()?.closes == true)
        #expect(client.waitForClose(timeout: 2))
    }

    @Test func halfClosedClientStillAnswered() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        client.send(request(["GET /search?delayMs=100 HTTP/1.1", "Host: a"]) + request(["GET /hello HTTP/1.1", "Host: a"]))
        client.finishSending()
        let (responses, closed) = try client.readAllResponses(timeout: 3)
        #expect(responses.map(\.status) == [200, 200])
        #expect(responses.last?.closes == true)
        #expect(closed)

        // More pipelined requests than the read-ahead limit, then EOF: all are still answered.
        let many = try server.client()
        var bytes = ""
        for index in 0..<40 {
            bytes += request(["POST /events HTTP/1.1", "Host: a", "Content-Length: \(String(index).utf8.count)"], body: String(index))
        }
        many.send(bytes)
        many.finishSending()
        let (manyResponses, manyClosed) = try many.readAllResponses(timeout: 5)
        #expect(manyResponses.count == 40)
        #expect(manyResponses.allSatisfy { $0.status == 201 })
        #expect(manyResponses.dropLast().allSatisfy { !$0.closes })
        #expect(manyResponses.last?.closes == true)
        #expect(manyClosed)

        let partial = try server.client()
        partial.send("POST /events HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        partial.finishSending()
        let (partialResponses, partialClosed) = try partial.readAllResponses(timeout: 3)
        #expect(partialResponses.map(\.status) == [400])
        #expect(partialClosed)
    }

    @Test func dateFieldFormat() throws {
        let server = try TestServer()
        defer { server.stop() }
        let date = try ProtocolTests.exchange(server, request(["GET /hello HTTP/1.1", "Host: a"])).headers["Date"] ?? ""
        #expect(date.count == 29)
        #expect(date.hasSuffix(" GMT"))
        #expect(DateCache.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
