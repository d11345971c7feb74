import Testing
import Telemetry
@testable import HTTP

/// Tests of the connection state machine without sockets: bytes in, dispatches and response
/// bytes out, with a fake clock in milliseconds.
@Suite struct ConnectionStateTests {
    /// A connection with the routes `/a`, `/b`, `/big`, `POST /upload` and `/guarded`, whose
    /// head filter returns 401 without `Authorization`.
    static func makeState(registry: MetricsRegistry = MetricsRegistry(),
                          _ configure: (inout HTTPServerConfiguration) -> Void = { _ in }) -> ConnectionState {
        var configuration = HTTPServerConfiguration()
        configuration.accessLogLevel = .trace
        configure(&configuration)
        var router = Router()
        router.add(.get, "/a") { _, responder in responder.send(.json(200, ["a": true])) }
        router.add(.get, "/b") { _, responder in responder.send(.json(200, ["b": true])) }
        router.add(.post, "/upload") { request, responder in responder.send(.json(200, ["bytes": .integer(Int64(request.body.count))])) }
        router.add(.get, "/big") { _, responder in responder.send(.json(200, bytes: TestServer.bigDocument)) }
        router.add(.get, "/guarded") { _, responder in responder.send(.json(200, ["guarded": true])) }
        router.headFilter = { request, _ in
            guard request.path == "/guarded", request.headers["Authorization"] == nil else { return nil }
            return .error(401, "the Authorization field is missing; send Authorization: Bearer <token>")
        }
        let context = ConnectionContext(configuration: configuration, router: router, logger: Logger(label: "test"),
                                        registry: registry, loopIndex: 0)
        return ConnectionState(context: context, remoteAddress: "127.0.0.1", now: 0)
    }

    static func feed(_ state: inout ConnectionState, _ text: String, now: Int64 = 0) -> [ConnectionState.Dispatch] {
        Array(text.utf8).withUnsafeBufferPointer { state.receive($0, now: now) }
        return state.process(now: now)
    }

    /// Takes the queued output as the loop would after writing all of it.
    static func drain(_ state: inout ConnectionState, now: Int64 = 0) -> [UInt8] {
        let bytes = Array(state.output[state.outputOffset...])
        state.wrote(bytes.count, now: now)
        return bytes
    }

    @Test func responsesLeaveInRequestOrder() throws {
        var state = ConnectionStateTests.makeState()
        let dispatches = ConnectionStateTests.feed(&state, request(["GET /a HTTP/1.1", "Host: x"]) + request(["GET /b HTTP/1.1", "Host: x"]))
        #expect(dispatches.map(\.request.path) == ["/a", "/b"])
        state.complete(sequence: dispatches[1].sequence, with: .json(200, ["second": true]), now: 1)
        #expect(!state.hasPendingOutput)
        state.complete(sequence: dispatches[0].sequence, with: .json(200, ["first": true]), now: 2)
        let responses = try RawClient.parseAll(ConnectionStateTests.drain(&state))
        #expect(responses.map(\.bodyText) == [#"{"first":true}"#, #"{"second":true}"#])
        let acceptedTwice = state.complete(sequence: dispatches[0].sequence, with: .json(500, nil), now: 3)
        #expect(!acceptedTwice)
    }

    @Test func safeRequestsRunInParallel() {
        var state = ConnectionStateTests.makeState()
        let dispatches = ConnectionStateTests.feed(&state, request(["GET /a HTTP/1.1", "Host: x"]) + request(["HEAD /b HTTP/1.1", "Host: x"]))
        #expect(dispatches.map(\.request.path) == ["/a", "/b"])
    }

    @Test func unsafeRequestWaitsForEarlierOnes() throws {
        var state = ConnectionStateTests.makeState()
        let pipeline = request(["GET /a HTTP/1.1", "Host: x"]) + request(["POST /upload HTTP/1.1", "Host: x", "Content-Length: 3"], body: "abc")
            + request(["GET /b HTTP/1.1", "Host: x"])

        let first = ConnectionStateTests.feed(&state, pipeline)
        #expect(first.map(\.request.path) == ["/a"])
        #expect(state.process(now: 0).isEmpty)

        state.complete(sequence: first[0].sequence, with: .json(200, ["a": true]), now: 1)
        let second = state.process(now: 1)
        #expect(second.map(\.request.path) == ["/upload"])
        #expect(state.process(now: 1).isEmpty)

        state.complete(sequence: second[0].sequence, with: .json(200, ["upload": true]), now: 2)
        let third = state.process(now: 2)
        #expect(third.map(\.request.path) == ["/b"])

        state.complete(sequence: third[0].sequence, with: .json(200, ["b": true]), now: 3)
        let responses = try RawClient.parseAll(ConnectionStateTests.drain(&state))
        #expect(responses.map(\.bodyText) == [#"{"a":true}"#, #"{"upload":true}"#, #"{"b":true}"#])
    }

    @Test func everySplitGivesSameOutput() throws {
        let input = Array((request(["GET /a HTTP/1.1", "Host: x"]) + request(["POST /upload HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"], body: "3\r\nabc\r\n0\r\n\r\n")
            + request(["GET /missing HTTP/1.1", "Host: x"]) + request(["HEAD /a HTTP/1.1", "Host: x"])).utf8)
        func run(splits: [Int]) throws -> [String] {
            var state = ConnectionStateTests.makeState()
            var statuses: [String] = []
            var start = 0
            for split in splits + [input.count] {
                var dispatches = Array(input[start..<split]).withUnsafeBufferPointer { bytes -> [ConnectionState.Dispatch] in
                    state.receive(bytes, now: 0)
                    return state.process(now: 0)
                }
                start = split
                // As the event loop does: answer, then parse what waited for the answers.
                while !dispatches.isEmpty {
                    for dispatch in dispatches {
                        state.complete(sequence: dispatch.sequence, with: .json(200, ["path": .string(dispatch.request.path), "bytes": .integer(Int64(dispatch.request.body.count))]), now: 0)
                    }
                    dispatches = state.process(now: 0)
                }
                var raw = ConnectionStateTests.drain(&state)
                while let response = try RawClient.parseOne(&raw, bodyless: statuses.count == 3) {
                    statuses.append("\(response.status) \(response.bodyText) \(response.headers["Content-Length"] ?? "-")")
                }
                #expect(raw.isEmpty)
            }
            return statuses
        }
        let expected = try run(splits: [])
        #expect(expected.count == 4)
        #expect(expected[2].hasPrefix("404"))
        for split in 0...input.count {
            #expect(try run(splits: [split]) == expected, "split at \(split)")
        }
    }

    @Test func continueSentBeforeBody() throws {
        var state = ConnectionStateTests.makeState()
        let none = ConnectionStateTests.feed(&state, request(["POST /upload HTTP/1.1", "Host: x", "Expect: 100-continue", "Content-Length: 3"]))
        #expect(none.isEmpty)
        #expect(String(decoding: ConnectionStateTests.drain(&state), as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        let dispatches = ConnectionStateTests.feed(&state, "abc")
        #expect(dispatches.first?.request.body == Array("abc".utf8))
    }

    @Test func headTimeoutAnswers408() throws {
        var state = ConnectionStateTests.makeState { $0.headerReadTimeout = 1 }
        _ = ConnectionStateTests.feed(&state, "GET /a HTTP/1.1\r\nHost: x\r\n", now: 100)
        let early = state.checkTimeouts(now: 1_000)
        #expect(early == .none)
        let late = state.checkTimeouts(now: 1_101)
        #expect(late == .closeAfterWriting)
        let responses = try RawClient.parseAll(ConnectionStateTests.drain(&state))
        #expect(responses.map(\.status) == [408])
        #expect(responses.first?.closes == true)
        #expect(state.isFinished)
    }

    @Test func idleConnectionClosedSilently() {
        var state = ConnectionStateTests.makeState { $0.keepAliveTimeout = 2 }
        let dispatches = ConnectionStateTests.feed(&state, request(["GET /a HTTP/1.1", "Host: x"]), now: 0)
        let awaiting = state.checkTimeouts(now: 10_000)
        #expect(awaiting == .none, "a request awaiting its handler is not idle")
        state.complete(sequence: dispatches[0].sequence, with: .json(200, nil), now: 10_000)
        _ = ConnectionStateTests.drain(&state, now: 10_000)
        let beforeLimit = state.checkTimeouts(now: 11_000)
        #expect(beforeLimit == .none)
        let afterLimit = state.checkTimeouts(now: 12_001)
        #expect(afterLimit == .closeNow)
    }

    @Test func writeTimeoutWithoutProgress() {
        var state = ConnectionStateTests.makeState { $0.writeTimeout = 1 }
        let dispatches = ConnectionStateTests.feed(&state, request(["GET /a HTTP/1.1", "Host: x"]), now: 0)
        state.complete(sequence: dispatches[0].sequence, with: .json(200, nil), now: 5_000)
        let beforeLimit = state.checkTimeouts(now: 5_900)
        #expect(beforeLimit == .none)
        state.wrote(1, now: 5_900)
        let afterProgress = state.checkTimeouts(now: 6_800)
        #expect(afterProgress == .none)
        let stalled = state.checkTimeouts(now: 6_901)
        #expect(stalled == .closeNow)
    }

    @Test func shutdownClosesAfterInFlight() throws {
        var idle = ConnectionStateTests.makeState()
        let closesAtOnce = idle.beginShutdown()
        #expect(closesAtOnce)

        var busy = ConnectionStateTests.makeState()
        let dispatches = ConnectionStateTests.feed(&busy, request(["GET /a HTTP/1.1", "Host: x"]) + request(["GET /b HTTP/1.1", "Host: x"]))
        let busyClosesAtOnce = busy.beginShutdown()
        #expect(!busyClosesAtOnce)
        for dispatch in dispatches {
            busy.complete(sequence: dispatch.sequence, with: .json(200, nil), now: 0)
        }
        let responses = try RawClient.parseAll(ConnectionStateTests.drain(&busy))
        #expect(responses.map { $0.headers["Connection"] ?? "" } == ["keep-alive", "close"])
        #expect(busy.isFinished)
    }

    @Test func headGetsLengthWithoutBody() throws {
        var state = ConnectionStateTests.makeState()
        let dispatches = ConnectionStateTests.feed(&state, request(["HEAD /big HTTP/1.1", "Host: x"]))
        #expect(dispatches.first?.request.method == .head)
        state.complete(sequence: dispatches[0].sequence, with: .json(200, bytes: TestServer.bigDocument), now: 0)
        var raw = ConnectionStateTests.drain(&state)
        let response = try #require(try RawClient.parseOne(&raw, bodyless: true))
        #expect(response.headers["Content-Length"] == String(TestServer.bigDocument.count))
        #expect(raw.isEmpty)
    }

    @Test func gzipResponseWhenAccepted() throws {
        var state = ConnectionStateTests.makeState()
        let dispatches = ConnectionStateTests.feed(&state, request(["GET /big HTTP/1.1", "Host: x", "Accept-Encoding: br;q=1, gzip;q=0.5"])
                                                   + request(["GET /big HTTP/1.1", "Host: x", "Accept-Encoding: gzip;q=0"]))
        for dispatch in dispatches {
            state.complete(sequence: dispatch.sequence, with: .json(200, bytes: TestServer.bigDocument), now: 0)
        }
        let responses = try RawClient.parseAll(ConnectionStateTests.drain(&state))
        #expect(responses[0].headers["Content-Encoding"] == "gzip")
        #expect(responses[0].headers["Vary"] == "Accept-Encoding")
        #expect(try GzipCodec.decompress(responses[0].body, limit: 1 << 20).get() == TestServer.bigDocument)
        #expect(responses[1].headers["Content-Encoding"] == nil)
        #expect(responses[1].headers["Vary"] == "Accept-Encoding")
        #expect(responses[1].body == TestServer.bigDocument)
    }

    @Test func gzipRequestBodyDecodedWithLimit() throws {
        var state = ConnectionStateTests.makeState { $0.maxBodyBytes = 5_000 }
        let codec = GzipCodec(level: 6)
        let small = try #require(codec.compress(Array(repeating: UInt8(ascii: "a"), count: 4_000)))
        let bomb = try #require(codec.compress(Array(repeating: UInt8(ascii: "a"), count: 1_000_000)))
        #expect(bomb.count < 5_000)
        let head = { (count: Int) in request(["POST /upload HTTP/1.1", "Host: x", "Content-Encoding: gzip", "Content-Length: \(count)"]) }
        var input = Array(head(small.count).utf8) + small
        input += Array(head(bomb.count).utf8) + bomb
        input += Array(head(3).utf8) + Array("abc".utf8)
        let dispatches = input.withUnsafeBufferPointer { bytes -> [ConnectionState.Dispatch] in
            state.receive(bytes, now: 0)
            return state.process(now: 0)
        }
        #expect(dispatches.count == 1)
        #expect(dispatches.first?.request.body.count == 4_000)
        state.complete(sequence: dispatches[0].sequence, with: .json(200, nil), now: 0)
        // The POSTs after the first wait for its answer; both are then rejected by this layer.
        #expect(state.process(now: 0).isEmpty)
        let responses = try RawClient.parseAll(ConnectionStateTests.drain(&state))
        #expect(responses.map(\.status) == [200, 413, 400])
    }

    @Test func rejectedRequestsDoNotStallPipeline() throws {
        for rejected in [request(["GET /nope HTTP/1.1", "Host: x"]), request(["GET /guarded HTTP/1.1", "Host: x"])] {
            var state = ConnectionStateTests.makeState()
            let pipeline = String(repeating: rejected, count: 17) + request(["GET /a HTTP/1.1", "Host: x"])

            let dispatches = ConnectionStateTests.feed(&state, pipeline)
            #expect(dispatches.map(\.request.path) == ["/a"])
            state.complete(sequence: dispatches[0].sequence, with: .json(200, ["a": true]), now: 0)

            let responses = try RawClient.parseAll(ConnectionStateTests.drain(&state))
            #expect(responses.count == 18)
            #expect(Set(responses.prefix(17).map(\.status)).count == 1)
            #expect(responses.first?.status != 200)
            #expect(responses.last?.bodyText == #"{"a":true}"#)
        }
    }

    @Test func parsingResumesWhenOutputDrains() throws {
        var state = ConnectionStateTests.makeState()
        let page = [UInt8](repeating: UInt8(ascii: "x"), count: 300_000)
        let pipeline = String(repeating: request(["GET /a HTTP/1.1", "Host: x"]), count: 10)
        var dispatches = ConnectionStateTests.feed(&state, pipeline)
        var rounds: [Int] = []
        var responses: [RawResponse] = []

        while !dispatches.isEmpty {
            rounds.append(dispatches.count)
            for dispatch in dispatches {
                state.complete(sequence: dispatch.sequence, with: HTTPResponse(status: 200, body: page), now: 0)
            }
            // Four responses of 300 KB pass the 1 MiB high-water mark, so parsing waits for the client.
            #expect(state.process(now: 0).isEmpty)
            #expect(!state.canResumeParsing)

            responses += try RawClient.parseAll(ConnectionStateTests.drain(&state))
            if rounds.count < 3 {
                #expect(state.canResumeParsing, "after round \(rounds.count)")
            }
            dispatches = state.process(now: 0)
        }
        #expect(rounds == [4, 4, 2])
        #expect(responses.count == 10)
        #expect(responses.allSatisfy { $0.body.count == page.count })
        #expect(!state.canResumeParsing)
    }

    @Test func pipelinedWorkBoundedWithoutReader() throws {
        #expect(HTTPServerConfiguration().maxPipelinedRequests == 4)
        for limit in [1, 4] {
            var state = ConnectionStateTests.makeState { $0.maxPipelinedRequests = limit }
            let page = [UInt8](repeating: UInt8(ascii: "x"), count: 2_000_000)
            let pipeline = String(repeating: request(["GET /a HTTP/1.1", "Host: x"]), count: 16)

            // The client never reads, so every response stays queued in the output.
            var dispatched = 0
            var dispatches = ConnectionStateTests.feed(&state, pipeline)
            while !dispatches.isEmpty {
                dispatched += dispatches.count
                for dispatch in dispatches {
                    state.complete(sequence: dispatch.sequence, with: HTTPResponse(status: 200, body: page), now: 0)
                }
                dispatches = state.process(now: 0)
            }
            #expect(dispatched == limit, "maxPipelinedRequests \(limit)")
            #expect(state.output.count - state.outputOffset < limit * (page.count + 1_024), "maxPipelinedRequests \(limit)")
            #expect(!state.canResumeParsing)
        }
    }

    @Test func unknownMethodsCountedAsOther() throws {
        let registry = MetricsRegistry()
        var state = ConnectionStateTests.makeState(registry: registry)
        var pipeline = ""
        for method in ["FOO", "BAR1", "X-CUSTOM", "DELETE", "get"] {
            pipeline += request(["\(method) /a HTTP/1.1", "Host: x"])
        }
        pipeline += request(["FOO /nowhere/\(UInt32.random(in: 0...UInt32.max)) HTTP/1.1", "Host: x"])
        #expect(ConnectionStateTests.feed(&state, pipeline).isEmpty)
        let responses = try RawClient.parseAll(ConnectionStateTests.drain(&state))
        #expect(responses.map(\.status) == [405, 405, 405, 405, 405, 404])

        let text = registry.render()
        #expect(text.contains(#"http_requests_total{route="unmatched",method="other",status="405"} 4"#))
        #expect(text.contains(#"http_requests_total{route="unmatched",method="DELETE",status="405"} 1"#))
        #expect(text.contains(#"http_requests_total{route="unmatched",method="other",status="404"} 1"#))
        for token in ["FOO", "BAR1", "X-CUSTOM", "method=\"get\"", "nowhere"] {
            #expect(!text.contains(token), "\(token) must not appear as a label value")
        }
    }

    @Test func halfCloseMarksLastResponse() throws {
        var state = ConnectionStateTests.makeState()
        Array((request(["GET /a HTTP/1.1", "Host: x"]) + request(["GET /b HTTP/1.1", "Host: x"])).utf8).withUnsafeBufferPointer {
            state.receive($0, now: 0)
        }
        state.receiveEOF()
        let dispatches = state.process(now: 0)
        for dispatch in dispatches {
            state.complete(sequence: dispatch.sequence, with: .json(200, nil), now: 0)
        }
        let responses = try RawClient.parseAll(ConnectionStateTests.drain(&state))
        #expect(responses.map { $0.headers["Connection"] ?? "" } == ["keep-alive", "close"])
        #expect(state.isFinished)
    }
}
