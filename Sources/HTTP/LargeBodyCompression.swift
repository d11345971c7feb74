/// gzip of response bodies too large to compress on an event-loop thread, which would serve no
/// other connection meanwhile. Such bodies are compressed on a worker thread before the
/// response reaches the loop, and the loop's `ResponseEncoder` never compresses them.
enum LargeBodyCompression {
    /// The smallest body compressed off the loop. 256 KiB of event JSON took 1.3 ms at zlib
    /// level 5 (Python's zlib on the 2-core build machine), so smaller bodies stay on the loop.
    static let minimumBytes = 262_144

    /// Returns whether `response` gets gzip for a client with `choice`, by the same rule as
    /// the encoder, and is large enough to be compressed on a worker thread.
    static func isNeeded(for response: HTTPResponse, choice: AcceptEncoding.Choice, threshold: Int) -> Bool {
        response.body.count >= minimumBytes && ResponseEncoder.wantsGzip(response, choice: choice, threshold: threshold)
    }

    /// Returns `response` with its body compressed, `Content-Encoding: gzip` and
    /// `Vary: Accept-Encoding`, or unchanged when zlib fails.
    static func compress(_ response: HTTPResponse, level: Int) -> HTTPResponse {
        guard let body = GzipCodec(level: level).compress(response.body) else { return response }
        var compressed = response
        compressed.body = body
        compressed.headers.append("Content-Encoding", "gzip")
        if !compressed.headers.contains("Vary") {
            compressed.headers.append("Vary", "Accept-Encoding")
        }
        return compressed
    }
}
