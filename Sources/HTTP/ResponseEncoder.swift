/// Serializes responses into the bytes written to a connection: status line, the handler's
/// fields, then `Date`, `Content-Length`, `Connection`, `X-Request-ID`, and gzip coding when
/// the client accepts it.
struct ResponseEncoder {
    /// Facts about one encoded response, for the access log.
    struct Summary {
        var bodyBytes: Int
        /// Whether the connection must close after this response.
        var closes: Bool
        /// Handler field lines dropped because their name or value was invalid.
        var droppedFields: [String]
    }

    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Fields this encoder writes itself; a handler's copy is ignored.
    private static let managedFields: Set<String> = ["content-length", "transfer-encoding", "connection", "date", "x-request-id", "keep-alive"]

    var dateCache = DateCache()
    let gzip: GzipCodec
    let compressionThreshold: Int

    init(compressionLevel: Int, compressionThreshold: Int) {
        gzip = GzipCodec(level: compressionLevel)
        self.compressionThreshold = compressionThreshold
    }

    /// Appends `response` to `output`. `keepAlive` is whether the server would keep the
    /// connection open; a handler's `Connection: close` turns it off.
    mutating func encode(_ response: HTTPResponse, method: HTTPMethod, acceptEncoding: AcceptEncoding.Choice,
                         keepAlive: Bool, requestID: String, into output: inout [UInt8]) -> Summary {
        var summary = Summary(bodyBytes: 0, closes: !keepAlive, droppedFields: [])
        let status = response.status
        // 1xx, 204 and 304 carry no content (RFC 9110 sections 6.4.1 and 8.6).
        let mayHaveBody = status >= 200 && status != 204 && status != 304
        var body = mayHaveBody ? response.body : []
        var contentEncodingLine: [UInt8] = []
        var varyLine: [UInt8] = []

        let handlerSetEncoding = response.headers.contains("Content-Encoding")
        if mayHaveBody && !handlerSetEncoding && acceptEncoding != .identity {
            if body.count >= compressionThreshold || (acceptEncoding == .gzipRequired && !body.isEmpty) {
                if let compressed = gzip.compress(body) {
                    body = compressed
                    contentEncodingLine = Array("Content-Encoding: gzip\r\n".utf8)
                }
            }
        }
        if mayHaveBody && !handlerSetEncoding && (response.body.count >= compressionThreshold || !contentEncodingLine.isEmpty)
            && !response.headers.contains("Vary") {
            varyLine = Array("Vary: Accept-Encoding\r\n".utf8)
        }

        output.append(contentsOf: "HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(status))\r\n".utf8)
        output.append(contentsOf: dateCache.current())
        for (name, value) in response.headers {
            let lowered = HTTPSyntax.lowercased(Substring(name))
            if ResponseEncoder.managedFields.contains(lowered) {
                if lowered == "connection" && HTTPSyntax.listElements(value).contains(where: { HTTPSyntax.lowercased($0) == "close" }) {
                    summary.closes = true
                }
                continue
            }
            // A CR or LF in a value would let a handler's data inject fields (response splitting).
            guard HTTPSyntax.isToken(name.utf8), value.utf8.allSatisfy(HTTPSyntax.isFieldValueByte) else {
                summary.droppedFields.append(name)
                continue
            }
            output.append(contentsOf: name.utf8)
            output.append(contentsOf: ": ".utf8)
            output.append(contentsOf: value.utf8)
            output.append(contentsOf: "\r\n".utf8)
        }
        output.append(contentsOf: contentEncodingLine)
        output.append(contentsOf: varyLine)
        if mayHaveBody {
            output.append(contentsOf: "Content-Length: \(body.count)\r\n".utf8)
        }
        output.append(contentsOf: summary.closes ? "Connection: close\r\n".utf8 : "Connection: keep-alive\r\n".utf8)
        output.append(contentsOf: "X-Request-ID: ".utf8)
        output.append(contentsOf: requestID.utf8)
        output.append(contentsOf: "\r\n\r\n".utf8)
        // HEAD gets GET's fields, Content-Length included, and no content (RFC 9110 section 9.3.2).
        if method != .head {
            output.append(contentsOf: body)
            summary.bodyBytes = body.count
        }
        return summary
    }
}
