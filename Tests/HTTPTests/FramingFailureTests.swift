import Testing
@testable import HTTP

/// Request framing attacks from the failure cases, over real sockets. Each must get exactly one
/// 400 with `Connection: close`, the socket closed, and no handler may see a hidden request.
@Suite struct FramingFailureTests {
    static let event = #"{"name":"Probe","retailerId":"1","entityType":"ORDER","entityRef":"P-1"}"#
    static let smuggled = #"{"name":"Smuggled","retailerId":"1","entityType":"ORDER","entityRef":"P-1"}"#
    static var hiddenRequest: String {
        request(["POST /events HTTP/1.1", "Host: a", "Content-Type: application/json", "Content-Length: \(smuggled.utf8.count)"], body: smuggled)
    }

    /// Sends `bytes` and checks the one 400 + close, the closed socket and the untouched store.
    static func expectRejected(_ bytes: String, on server: TestServer, status: Int = 400, _ comment: Comment) throws {
        let client = try server.client()
        client.send(bytes)
        let (responses, closed) = try client.readAllResponses(timeout: 5)
        #expect(responses.count == 1, comment)
        #expect(responses.first?.status == status, comment)
        #expect(responses.first?.closes == true, comment)
        #expect(responses.first?.bodyText.contains("\"code\":\"\(status)\"") == true, comment)
        #expect(closed, comment)
        #expect(server.storedBodies.isEmpty, comment)
    }

    static func expectStillServing(_ server: TestServer) throws {
        let client = try server.client()
        client.send(request(["GET /hello HTTP/1.1", "Host: a"]))
        let response = try client.readResponse()
        #expect(response?.status == 200)
    }

    @Test func contentLengthWithTransferEncoding() throws {
        let server = try TestServer()
        defer { server.stop() }
        let fieldPairs = [
            ["Content-Length: 5", "Transfer-Encoding: chunked"],
            ["Transfer-Encoding: chunked", "Content-Length: 5"],
            ["content-LENGTH: 5", "TRANSFER-encoding: Chunked"],
            ["Transfer-Encoding:  chunked ", "Content-Length: 5"],
            ["Content-Length: 0", "Transfer-Encoding: chunked"],
            ["Transfer-Encoding: gzip, chunked", "Content-Length: 5"],
        ]
        for fields in fieldPairs {
            let head = request(["POST /events HTTP/1.1", "Host: a"] + fields, body: "0\r\n\r\n")
            try FramingFailureTests.expectRejected(head + FramingFailureTests.hiddenRequest, on: server, "\(fields)")
        }
        try FramingFailureTests.expectStillServing(server)
    }

    @Test func differingContentLengths() throws {
        let server = try TestServer()
        defer { server.stop() }
        let length = FramingFailureTests.event.utf8.count
        let fieldSets = [
            ["Content-Length: 0", "Content-Length: \(length)"],
            ["Content-Length: \(length)", "Content-Length: 0"],
            ["Content-Length: 0, \(length)"],
            ["Content-Length: \(length), 0"],
            // Identical duplicates are rejected too; see docs/http.md.
            ["Content-Length: \(length)", "Content-Length: \(length)"],
            ["Content-Length: \(length), \(length)"],
        ]
        for fields in fieldSets {
            let bytes = request(["POST /events HTTP/1.1", "Host: a"] + fields, body: FramingFailureTests.event)
            try FramingFailureTests.expectRejected(bytes + FramingFailureTests.hiddenRequest, on: server, "\(fields)")
        }
        try FramingFailureTests.expectStillServing(server)
    }

    @Test func contentLengthSyntax() throws {
        let server = try TestServer()
        defer { server.stop() }
        let values = ["+5", "-1", "0x5", "5 5", "18446744073709551616", "99999999999999999999999999", "5.0", "1e1", "", "\u{661}"]
        for value in values {
            let bytes = request(["POST /events HTTP/1.1", "Host: a", "Content-Length: \(value)"], body: "hello")
            try FramingFailureTests.expectRejected(bytes, on: server, "Content-Length \(value.debugDescription)")
        }
        try FramingFailureTests.expectStillServing(server)
    }

    @Test func obsoleteFoldingAndSpaceBeforeColon() throws {
        let server = try TestServer()
        defer { server.stop() }
        let fieldSets = [
            ["X-Long: first", " continued"],
            ["X-Long: first", "\tcontinued"],
            ["Content-Length : 5"],
            ["Content-Length\t: 5"],
            ["Host : a"],
        ]
        for fields in fieldSets {
            let bytes = request(["POST /events HTTP/1.1", "Host: a"] + fields, body: "hello")
            try FramingFailureTests.expectRejected(bytes + FramingFailureTests.hiddenRequest, on: server, "\(fields)")
        }
        try FramingFailureTests.expectStillServing(server)
    }

    @Test func chunkSizeOverflow() throws {
        let server = try TestServer()
        defer { server.stop() }
        let head = request(["POST /events HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"])
        for size in ["FFFFFFFFFFFFFFFFF", "10000000000000000", String(repeating: "F", count: 64), "1FFFFFFFFFFFFFFFF"] {
            try FramingFailureTests.expectRejected(head + size + "\r\nabc\r\n0\r\n\r\n", on: server, "chunk size \(size)")
        }
        // Sizes that fit 64 bits but pass the body limit are 413, still before any data is read.
        for size in ["FFFFFFFFFFFFFFFF", "7FFFFFFFFFFFFFFF", "100001"] {
            try FramingFailureTests.expectRejected(head + size + "\r\nabc", on: server, status: 413, "chunk size \(size)")
        }
        try FramingFailureTests.expectStillServing(server)
    }

    @Test func invalidChunkFramingAndCodings() throws {
        let server = try TestServer()
        defer { server.stop() }
        let head = request(["POST /events HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"])
        for body in ["3\r\nabcd\r\n0\r\n\r\n", "3\nabc\r\n0\r\n\r\n", "x\r\n", "3\r\nabc\r\n0\r\nBad Trailer\r\n\r\n"] {
            try FramingFailureTests.expectRejected(head + body + FramingFailureTests.hiddenRequest, on: server, "\(body.debugDescription)")
        }
        let gzipLast = request(["POST /events HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, gzip"], body: "0\r\n\r\n")
        try FramingFailureTests.expectRejected(gzipLast, on: server, "final coding gzip")
        let unknownCoding = request(["POST /events HTTP/1.1", "Host: a", "Transfer-Encoding: compress, chunked"], body: "0\r\n\r\n")
        try FramingFailureTests.expectRejected(unknownCoding, on: server, status: 501, "coding compress")
        try FramingFailureTests.expectStillServing(server)
    }
}
