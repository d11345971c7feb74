import Testing
@testable import HTTP

@Suite struct RequestParserTests {
    static let pipeline = [
        "GET /a?x=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n",
        "POST /events HTTP/1.1\r\nHost: example\r\nContent-Length: 11\r\n\r\nhello world",
        "POST /chunks HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nTrailer-Field: x\r\n\r\n",
        "\r\nGET /after-empty-line HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: example\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    ].joined()

    @Test func everySplitPointGivesSameEvents() {
        let bytes = Array(RequestParserTests.pipeline.utf8)
        let expected = ParserHarness.events(bytes, splits: [])
        #expect(expected.count == 10)
        #expect(expected.allSatisfy { !$0.hasPrefix("failure") })
        for split in 0...bytes.count {
            let events = ParserHarness.events(bytes, splits: [split])
            #expect(events == expected, "split at \(split)")
        }
    }

    @Test func byteByByteGivesSameEvents() {
        let bytes = Array(RequestParserTests.pipeline.utf8)
        let expected = ParserHarness.events(bytes, splits: [])
        #expect(ParserHarness.events(bytes, splits: Array(1..<bytes.count)) == expected)
    }

    @Test func everyPairOfSplitsGivesSameEvents() {
        let bytes = Array((RequestParserTests.pipeline.split(separator: "OPTIONS").first.map(String.init) ?? "").utf8)
        let expected = ParserHarness.events(bytes, splits: [])
        for first in stride(from: 0, to: bytes.count, by: 3) {
            for second in stride(from: first, to: bytes.count, by: 7) {
                #expect(ParserHarness.events(bytes, splits: [first, second]) == expected, "splits at \(first), \(second)")
            }
        }
    }

    @Test func failuresAreSameAtEverySplit() {
        let inputs = [
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        ]
        for input in inputs {
            let bytes = Array(input.utf8)
            let expected = ParserHarness.events(bytes, splits: [])
            #expect(expected.last?.hasPrefix("failure 400") == true, "\(input)")
            for split in 0...bytes.count {
                #expect(ParserHarness.events(bytes, splits: [split]) == expected, "split at \(split) of \(input)")
            }
        }
    }

    @Test func headFields() throws {
        let harness = ParserHarness.parse("GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\nX-Value:  padded value \t\r\n\r\n")
        let head = try #require(harness.heads.first)
        #expect(head.method == .get)
        #expect(head.target == "/path?q=1")
        #expect(head.version == .http11)
        #expect(head.fields["host"] == "example.com")
        #expect(head.fields["X-Value"] == "padded value")
        #expect(head.keepAlive)
        #expect(harness.bodies == [[]])
    }

    @Test func requestLineErrors() {
        let cases: [(String, Int)] = [
            ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
            ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
            ("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
            ("GET / http/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
            ("GET /\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
            ("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ]
        for (input, status) in cases {
            let harness = ParserHarness.parse(input)
            #expect(harness.failure?.status == status, "\(input.debugDescription)")
            #expect(harness.failure?.closesConnection == true)
        }
    }

    @Test func fieldLineErrors() {
        let cases = [
            "GET / HTTP/1.1\r\nHost: a\r\n continued\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\tcontinued\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n: empty name\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1B}b\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ]
        for input in cases {
            #expect(ParserHarness.parse(input).failure?.status == 400, "\(input.debugDescription)")
        }
        #expect(ParserHarness.parse("GET / HTTP/1.0\r\n\r\n").failure == nil)
    }

    @Test func hostValues() {
        for valid in ["example.com", "example.com:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8080", "", "a-b_c~d.e", "xn--bcher-kva.example"] {
            #expect(ParserHarness.parse("GET / HTTP/1.1\r\nHost: \(valid)\r\n\r\n").failure == nil, "\(valid)")
        }
        for invalid in ["exa mple.com", "example.com/path", "user@example.com", "example.com:80a", "example.com:123456", "[::1", "[zz::1]", "[::1]x", "a\"b", "a<b>",
                        "a b", "a/b@c", "a\tb", "%zz.example", "a%4", "a%"] {
            #expect(ParserHarness.parse("GET / HTTP/1.1\r\nHost: \(invalid)\r\n\r\n").failure?.status == 400, "\(invalid)")
        }
    }

    @Test func contentLengthSyntax() {
        for value in ["+5", "-1", "0x5", "5 5", "5,5", "0, 52", "", "18446744073709551616", "99999999999999999999999", "1e3", "５"] {
            let harness = ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(value)\r\n\r\nhello")
            #expect(harness.failure?.status == 400, "Content-Length \(value.debugDescription)")
        }
        let tooLarge = ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n")
        #expect(tooLarge.failure?.status == 413)
        let duplicate = ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
        #expect(duplicate.failure?.status == 400)
        let valid = ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello")
        #expect(valid.bodies == [Array("hello".utf8)])
    }

    @Test func transferEncodingRules() {
        let cases: [(String, Int)] = [
            ("Transfer-Encoding: gzip", 400),
            ("Transfer-Encoding: chunked, gzip", 400),
            ("Transfer-Encoding: gzip, chunked", 501),
            ("Transfer-Encoding: chunked, chunked", 400),
            ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400),
            ("Transfer-Encoding: identity", 400),
            ("Transfer-Encoding: ,", 400),
            ("Transfer-Encoding: chunked\r\nContent-Length: 3", 400),
            ("Content-Length: 3\r\ntransfer-ENCODING: CHUNKED", 400),
        ]
        for (fields, status) in cases {
            let harness = ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n\r\n0\r\n\r\n")
            #expect(harness.failure?.status == status, "\(fields)")
        }
        let http10 = ParserHarness.parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(http10.failure?.status == 400)
        let upper = ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(upper.bodies == [Array("abc".utf8)])
    }

    @Test func chunkedBodyErrors() {
        let prefix = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let cases: [(String, Int)] = [
            ("FFFFFFFFFFFFFFFFF\r\n", 400),
            ("FFFFFFFFFFFFFFFF\r\n", 413),
            ("100001\r\n", 413),
            ("zz\r\n", 400),
            ("\r\n", 400),
            ("-1\r\n", 400),
            ("3\r\nabcd\r\n", 400),
            ("3 junk\r\nabc\r\n", 400),
            ("3;ext\u{1}\r\nabc\r\n", 400),
            ("0\r\nBad Trailer\r\n\r\n", 400),
            (String(repeating: "0", count: 2_000) + "\r\n", 400),
        ]
        for (body, status) in cases {
            #expect(ParserHarness.parse(prefix + body).failure?.status == status, "\(body.prefix(40).debugDescription)")
        }
        let withExtensions = ParserHarness.parse(prefix + "3 ; a=b;c=\"d\"\r\nabc\r\n0\r\n\r\n")
        #expect(withExtensions.bodies == [Array("abc".utf8)])
    }

    @Test func limitsGive414And431() {
        var limits = RequestParser.Limits()
        limits.requestLineBytes = 100
        limits.headerBytes = 300
        limits.headerCount = 5
        let longLine = "GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(ParserHarness.parse(longLine, limits: limits).failure?.status == 414)
        let endless = "GET /" + String(repeating: "a", count: 200)
        #expect(ParserHarness.parse(endless, limits: limits).failure?.status == 414)
        let exact = "GET /" + String(repeating: "a", count: 86) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(ParserHarness.parse(exact, limits: limits).failure == nil)
        let manyFields = "GET / HTTP/1.1\r\nHost: a\r\n" + (1...5).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(ParserHarness.parse(manyFields, limits: limits).failure?.status == 431)
        let bigField = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 400)
        #expect(ParserHarness.parse(bigField, limits: limits).failure?.status == 431)
        let bigTrailers = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + String(repeating: "v", count: 400)
        #expect(ParserHarness.parse(bigTrailers, limits: limits).failure?.status == 431)
    }

    @Test func bodyLimitForChunksAndLength() {
        var limits = RequestParser.Limits()
        limits.bodyBytes = 10
        let prefix = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(ParserHarness.parse(prefix + "6\r\nabcdef\r\n5\r\n", limits: limits).failure?.status == 413)
        #expect(ParserHarness.parse(prefix + "5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n", limits: limits).bodies.count == 1)
        #expect(ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits: limits).failure?.status == 413)
    }

    @Test func connectionPersistence() throws {
        let cases: [(String, Bool)] = [
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false),
            ("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
            ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        ]
        for (input, keepAlive) in cases {
            let head = try #require(ParserHarness.parse(input).heads.first)
            #expect(head.keepAlive == keepAlive, "\(input.debugDescription)")
        }
    }

    @Test func expectations() throws {
        let continued = try #require(ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").heads.first)
        #expect(continued.expectation == .continue100)
        let other = try #require(ParserHarness.parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n").heads.first)
        #expect(other.expectation == .unsupported("something"))
        let http10 = try #require(ParserHarness.parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").heads.first)
        #expect(http10.expectation == .none)
    }
}
