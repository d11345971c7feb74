@testable import HTTP

/// Feeds byte chunks to a `RequestParser` the way a connection does and records its events as
/// text, so results of different splits can be compared.
struct ParserHarness {
    var parser: RequestParser
    private var pending: [UInt8] = []
    private(set) var events: [String] = []
    private(set) var heads: [RequestHead] = []
    private(set) var bodies: [[UInt8]] = []
    private(set) var failure: RequestError?

    init(limits: RequestParser.Limits = RequestParser.Limits()) {
        parser = RequestParser(limits: limits)
    }

    mutating func feed(_ bytes: some Collection<UInt8>) {
        pending.append(contentsOf: bytes)
        while failure == nil {
            let (consumed, event) = pending.withUnsafeBufferPointer { parser.parse($0) }
            pending.removeFirst(consumed)
            switch event {
            case .needMoreData:
                return
            case .head(let head):
                heads.append(head)
                let fields = head.fields.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
                events.append("head \(head.method) \(head.target) \(head.version.text) \(head.framing) keepAlive=\(head.keepAlive) expect=\(head.expectation) [\(fields)]")
            case .body(let body):
                bodies.append(body)
                events.append("body \(String(decoding: body, as: UTF8.self))")
            case .failure(let error):
                failure = error
                events.append("failure \(error.status)")
            }
        }
    }

    /// Parses `bytes` in pieces cut at `splits` (sorted offsets) and returns the events.
    static func events(_ bytes: [UInt8], splits: [Int], limits: RequestParser.Limits = RequestParser.Limits()) -> [String] {
        var harness = ParserHarness(limits: limits)
        var start = 0
        for split in splits + [bytes.count] {
            harness.feed(bytes[start..<split])
            start = split
        }
        return harness.events
    }

    static func parse(_ text: String, limits: RequestParser.Limits = RequestParser.Limits()) -> ParserHarness {
        var harness = ParserHarness(limits: limits)
        harness.feed(Array(text.utf8))
        return harness
    }
}
