import Testing
@testable import HTTP

@Suite struct AcceptEncodingTests {
    @Test func choices() {
        let cases: [([String], AcceptEncoding.Choice)] = [
            ([], .identity),
            (["gzip"], .gzip),
            (["GZIP"], .gzip),
            (["x-gzip"], .gzip),
            (["gzip, deflate, br"], .gzip),
            (["gzip;q=0"], .identity),
            (["gzip; q=0.000"], .identity),
            (["gzip;q=0.001"], .gzip),
            (["br", "gzip;q=0.5"], .gzip),
            (["*"], .gzip),
            (["*;q=0"], .identity),
            (["*;q=0, gzip"], .gzipRequired),
            (["gzip, identity;q=0"], .gzipRequired),
            (["identity;q=0"], .identity),
            (["*, gzip;q=0"], .identity),
            (["deflate"], .identity),
            (["gzip;q=abc"], .identity),
            (["gzip;q=1.5"], .identity),
            (["identity"], .identity),
        ]
        for (values, expected) in cases {
            #expect(AcceptEncoding.choose(values) == expected, "\(values)")
        }
    }

    @Test func gzipRoundTripAndErrors() throws {
        let codec = GzipCodec(level: 5)
        let input = Array(String(repeating: "event ", count: 2_000).utf8)
        let compressed = try #require(codec.compress(input))
        #expect(compressed.count < input.count / 10)
        #expect(compressed.prefix(2) == [0x1F, 0x8B])
        let again = try #require(codec.compress(input))
        #expect(again == compressed)
        #expect(try GzipCodec.decompress(compressed, limit: input.count).get() == input)
        #expect(GzipCodec.decompress(compressed, limit: input.count - 1) == .failure(.tooLarge))
        #expect(try GzipCodec.decompress(compressed + compressed, limit: 2 * input.count).get() == input + input)
        if case .success = GzipCodec.decompress(Array(compressed.dropLast(4)), limit: 1 << 20) { Issue.record("truncated gzip accepted") }
        if case .success = GzipCodec.decompress(Array("not gzip".utf8), limit: 1 << 20) { Issue.record("plain text accepted") }
        if case .success = GzipCodec.decompress([], limit: 1 << 20) { Issue.record("empty body accepted") }
    }
}
