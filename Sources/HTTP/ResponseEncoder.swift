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

    /// Status lines of the statuses this server sends, built once.
    private static let statusLines: [Int: [UInt8]] = {
        var lines: [Int: [UInt8]] = [:]
        for status in [100, 200, 201, 202, 204, 301, 304, 400, 401, 403, 404, 405, 408, 409, 411, 413, 414, 415, 417, 422, 429, 431, 500, 501, 503, 504, 505] {
            lines[status] = Array("HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(status))\r\n".utf8)
        }
        return lines
    }()

    /// Whether the encoder writes the field `name` itself, so a handler's copy is ignored.
    private static func isManaged(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: return HTTPFields.namesEqual(name, "Date")
        case 10: return HTTPFields.namesEqual(name, "Connection") || HTTPFields.namesEqual(name, "Keep-Alive")
        case 12: return HTTPFields.namesEqual(name, "X-Request-ID")
        case 14: return HTTPFields.namesEqual(name, "Content-Length")
        case 17: return HTTPFields.namesEqual(name, "Transfer-Encoding")
        default: return false
        }
    }

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
        // A body of LargeBodyCompression.minimumBytes or more is compressed on a worker thread.
        // One that arrives here uncompressed found the worker queue full or the pool stopping,
        // and is sent as it is rather than stall the loop.
        if ResponseEncoder.wantsGzip(response, choice: acceptEncoding, threshold: compressionThreshold)
            && body.count < LargeBodyCompression.minimumBytes {
            if let compressed = gzip.compress(body) {
                body = compressed
                contentEncodingLine = Array("Content-Encoding: gzip\r\n".utf8)
            }
        }
        if mayHaveBody && !handlerSetEncoding && (response.body.count >= compressionThreshold || !contentEncodingLine.isEmpty)
            && !response.headers.contains("Vary") {
            varyLine = Array("Vary: Accept-Encoding\r\n".utf8)
        }

        if let statusLine = ResponseEncoder.statusLines[status] {
            output.append(contentsOf: statusLine)
        } else {
            output.append(contentsOf: "HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(status))\r\n".utf8)
        }
        output.append(contentsOf: dateCache.current())
        for (name, value) in response.headers {
            if ResponseEncoder.isManaged(name) {
                if HTTPFields.namesEqual(name, "Connection") && HTTPSyntax.listElements(value).contains(where: { HTTPSyntax.lowercased($0) == "close" }) {
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
            output.append(contentsOf: "Content-Length: ".utf8)
            ResponseEncoder.appendDecimal(body.count, to: &output)
            output.append(contentsOf: "\r\n".utf8)
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

    /// Returns whether the body of `response` is to be gzip-compressed: it may have content,
    /// the handler set no `Content-Encoding`, and the client accepts gzip, with a body of at
    /// least `threshold` bytes or any non-empty body when it refuses identity.
    static func wantsGzip(_ response: HTTPResponse, choice: AcceptEncoding.Choice, threshold: Int) -> Bool {
        // 1xx, 204 and 304 carry no content (RFC 9110 sections 6.4.1 and 8.6).
        let mayHaveBody = response.status >= 200 && response.status != 204 && response.status != 304
        guard mayHaveBody, choice != .identity, !response.headers.contains("Content-Encoding") else { return false }
        return response.body.count >= threshold || (choice == .gzipRequired && !response.body.isEmpty)
    }

    /// Appends the decimal digits of a non-negative `value` without building a String.
    static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var remaining = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                count += 1
            } while remaining > 0
            output.append(contentsOf: buffer[(20 - count)...])
        }
    }
}
