import Testing
@testable import HTTP

@Suite struct ResponseEncoderTests {
    @Test func decimalDigits() {
        for value in [0, 7, 10, 99, 563, 1_048_576, Int.max] {
            var output: [UInt8] = []
            ResponseEncoder.appendDecimal(value, to: &output)
            #expect(String(decoding: output, as: UTF8.self) == String(value))
        }
    }

    @Test func managedFieldsAndStatusLines() throws {
        var encoder = ResponseEncoder(compressionLevel: 5, compressionThreshold: 1_024)
        var headers = HTTPFields()
        headers.append("date", "yesterday")
        headers.append("KEEP-ALIVE", "timeout=5")
        headers.append("Transfer-Encoding", "chunked")
        headers.append("x-request-id", "spoofed")
        headers.append("X-Other", "kept")
        var output: [UInt8] = []
        let summary = encoder.encode(HTTPResponse(status: 418, headers: headers, body: Array("tea".utf8)), method: .get,
                                     acceptEncoding: .identity, keepAlive: true, requestID: "id-1", into: &output)
        let text = String(decoding: output, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 418 Unknown\r\n"))
        #expect(!text.contains("yesterday"))
        #expect(!text.contains("timeout=5"))
        #expect(!text.contains("chunked"))
        #expect(!text.contains("spoofed"))
        #expect(text.contains("X-Other: kept\r\n"))
        #expect(text.contains("X-Request-ID: id-1\r\n"))
        #expect(text.hasSuffix("Content-Length: 3\r\nConnection: keep-alive\r\nX-Request-ID: id-1\r\n\r\ntea"))
        #expect(summary.bodyBytes == 3)
        #expect(!summary.closes)

        output.removeAll()
        let noContent = encoder.encode(HTTPResponse(status: 204, body: Array("ignored".utf8)), method: .get,
                                       acceptEncoding: .gzip, keepAlive: false, requestID: "id-2", into: &output)
        let noContentText = String(decoding: output, as: UTF8.self)
        #expect(noContentText.hasPrefix("HTTP/1.1 204 No Content\r\n"))
        #expect(!noContentText.contains("Content-Length"))
        #expect(noContentText.hasSuffix("\r\n\r\n"))
        #expect(noContent.closes)
    }

    @Test func largeBodyNotCompressedOnLoop() throws {
        var encoder = ResponseEncoder(compressionLevel: 5, compressionThreshold: 1_024)
        for (size, compressed) in [(LargeBodyCompression.minimumBytes - 1, true), (LargeBodyCompression.minimumBytes, false)] {
            var output: [UInt8] = []
            let body = [UInt8](repeating: UInt8(ascii: "z"), count: size)
            _ = encoder.encode(HTTPResponse(status: 200, body: body), method: .get, acceptEncoding: .gzip,
                               keepAlive: true, requestID: "id", into: &output)
            let response = try #require(try RawClient.parseAll(output).first)
            #expect((response.headers["Content-Encoding"] == "gzip") == compressed, "\(size) bytes")
            #expect(response.headers["Vary"] == "Accept-Encoding", "\(size) bytes")
        }

        let large = HTTPResponse(status: 200, body: [UInt8](repeating: UInt8(ascii: "z"), count: LargeBodyCompression.minimumBytes))
        #expect(LargeBodyCompression.isNeeded(for: large, choice: .gzip, threshold: 1_024))
        #expect(!LargeBodyCompression.isNeeded(for: large, choice: .identity, threshold: 1_024))
        #expect(!LargeBodyCompression.isNeeded(for: large, choice: .gzip, threshold: LargeBodyCompression.minimumBytes + 1))
        let worker = LargeBodyCompression.compress(large, level: 5)
        #expect(worker.headers["Content-Encoding"] == "gzip")
        #expect(try GzipCodec.decompress(worker.body, limit: large.body.count).get() == large.body)
        var output: [UInt8] = []
        _ = encoder.encode(worker, method: .get, acceptEncoding: .gzip, keepAlive: true, requestID: "id", into: &output)
        let sent = try #require(try RawClient.parseAll(output).first)
        #expect(sent.body == worker.body, "a body compressed on a worker is sent as it is")
        #expect(sent.headers.values("Vary") == ["Accept-Encoding"])
    }
}
