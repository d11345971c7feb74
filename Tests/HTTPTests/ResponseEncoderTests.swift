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
}
