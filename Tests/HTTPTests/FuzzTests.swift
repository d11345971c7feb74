import Testing
@testable import HTTP

/// A small, seeded pseudo-random generator, so a failing fuzz case reproduces exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Random splits and mutations of valid requests. Bounded in count and time: no crash, no
/// hang, every response well-framed, and the parser gives the same events at any split.
@Suite struct FuzzTests {
    static let corpus = [
        request(["GET /hello HTTP/1.1", "Host: a"]),
        request(["POST /events HTTP/1.1", "Host: a", "Content-Length: 11"], body: "hello world"),
        request(["POST /events HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"], body: "5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n"),
        request(["GET /query?a=1&b=%2B HTTP/1.0", "Connection: keep-alive"]),
        request(["POST /events HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 3"], body: "abc"),
        // No HEAD: its responses have a Content-Length and no body, which a reader that does not
        // know the request method cannot frame. HEAD framing has its own tests.
        request(["GET /big HTTP/1.1", "Host: a", "Accept-Encoding: gzip;q=0.5, identity;q=0"]),
        request(["OPTIONS * HTTP/1.1", "Host: a"]),
        request(["GET http://a/items/x%2Fy HTTP/1.1", "Host: a", "X-Request-ID: fuzz-1"]),
    ]

    static let interestingBytes: [UInt8] = [13, 10, 32, 9, 0x3A, 0, 0x30, 0x39, 0x61, 0x46, 0x80, 0xFF, 0x2C, 0x3B, 0x25, 0x7F]

    static func mutate(_ input: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { break }
            let position = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0: bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.insert(interestingBytes.randomElement(using: &random)!, at: position)
            case 2: bytes.remove(at: position)
            case 3:
                let end = min(bytes.count, position + Int.random(in: 1...20, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 4: bytes.removeLast(Int.random(in: 0...min(10, bytes.count), using: &random))
            case 5: bytes.insert(contentsOf: [13, 10], at: position)
            default: bytes[position] = interestingBytes.randomElement(using: &random)!
            }
        }
        return bytes
    }

    static func input(using random: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            bytes += Array(corpus.randomElement(using: &random)!.utf8)
        }
        return mutate(bytes, using: &random)
    }

    static func splits(for count: Int, using random: inout SplitMix64) -> [Int] {
        guard count > 1 else { return [] }
        return (0..<Int.random(in: 0...5, using: &random)).map { _ in Int.random(in: 1..<count, using: &random) }.sorted()
    }

    @Test func parserSameEventsAtRandomSplits() {
        var random = SplitMix64(seed: 0x5EED_0001)
        let start = RawClient.now()
        for iteration in 0..<20_000 where RawClient.now() - start < 10 {
            let bytes = FuzzTests.input(using: &random)
            let expected = ParserHarness.events(bytes, splits: [])
            let splits = FuzzTests.splits(for: bytes.count, using: &random)
            #expect(ParserHarness.events(bytes, splits: splits) == expected, "iteration \(iteration), splits \(splits)")
        }
    }

    @Test func connectionOutputWellFramed() throws {
        var random = SplitMix64(seed: 0x5EED_0002)
        let start = RawClient.now()
        for iteration in 0..<20_000 where RawClient.now() - start < 10 {
            let bytes = FuzzTests.input(using: &random)
            var state = ConnectionStateTests.makeState()
            var pieces: [[UInt8]] = []
            var offset = 0
            for split in FuzzTests.splits(for: bytes.count, using: &random) + [bytes.count] {
                pieces.append(Array(bytes[offset..<split]))
                offset = split
            }
            var output: [UInt8] = []
            for piece in pieces {
                let dispatches = piece.withUnsafeBufferPointer { buffer -> [ConnectionState.Dispatch] in
                    state.receive(buffer, now: 0)
                    return state.process(now: 0)
                }
                for dispatch in dispatches {
                    state.complete(sequence: dispatch.sequence, with: .json(200, ["ok": true]), now: 0)
                }
                output += ConnectionStateTests.drain(&state)
            }
            state.receiveEOF()
            #expect(state.process(now: 0).isEmpty)
            output += ConnectionStateTests.drain(&state)
            #expect(state.isFinished, "iteration \(iteration): the connection must be able to close after EOF")

            var remaining = output
            var responses: [RawResponse] = []
            while !remaining.isEmpty {
                guard let response = try RawClient.parseOne(&remaining, bodyless: false) else {
                    Issue.record("iteration \(iteration): incomplete response in \(String(decoding: output, as: UTF8.self))")
                    break
                }
                responses.append(response)
            }
            for (index, response) in responses.enumerated() {
                #expect((100...599).contains(response.status))
                if response.closes { #expect(index == responses.count - 1, "iteration \(iteration): bytes after Connection: close") }
            }
        }
    }

    @Test func serverSurvivesMutatedStreams() throws {
        let server = try TestServer { $0.headerReadTimeout = 2; $0.bodyReadTimeout = 2 }
        defer { server.stop() }
        var random = SplitMix64(seed: 0x5EED_0003)
        let start = RawClient.now()
        for iteration in 0..<300 where RawClient.now() - start < 20 {
            let bytes = FuzzTests.input(using: &random)
            let client = try server.client()
            var offset = 0
            for split in FuzzTests.splits(for: bytes.count, using: &random) + [bytes.count] {
                client.send(Array(bytes[offset..<split]))
                offset = split
            }
            client.finishSending()
            do {
                let (_, closed) = try client.readAllResponses(timeout: 4)
                #expect(closed, "iteration \(iteration): the server did not close after EOF")
            } catch {
                Issue.record("iteration \(iteration): \(error) for input \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            }
        }
        try FramingFailureTests.expectStillServing(server)
    }
}
