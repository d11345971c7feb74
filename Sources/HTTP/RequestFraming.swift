/// Derives body framing, persistence and expectations from a parsed header section, rejecting
/// the ambiguous combinations that request smuggling relies on (RFC 9112 sections 6 and 9).
enum RequestFraming {
    static func makeHead(method: HTTPMethod, target: String, version: HTTPVersion, fields: HTTPFields,
                         maxBodyBytes: Int) -> Result<RequestHead, RequestError> {
        var contentLength: Int?
        var transferCodings: [String] = []
        var sawTransferEncoding = false
        var hostCount = 0
        var connectionOptions: [String] = []
        var expectValues: [String] = []

        for (name, value) in fields {
            switch name.utf8.count {
            case 4 where HTTPFields.namesEqual(name, "Host"):
                hostCount += 1
                // CONNECT is answered 501 whatever its Host, so its Host is not checked.
                if method != .connect && !isValidHost(value) {
                    return .failure(RequestError(400, "the Host value \(HTTPSyntax.quoted(value.utf8)) is not a valid host[:port]; send a host name or IP address with an optional numeric port"))
                }
            case 6 where HTTPFields.namesEqual(name, "Expect"):
                expectValues.append(value)
            case 10 where HTTPFields.namesEqual(name, "Connection"):
                connectionOptions += HTTPSyntax.listElements(value).map(HTTPSyntax.lowercased)
            case 14 where HTTPFields.namesEqual(name, "Content-Length"):
                // Duplicates are rejected even when equal (RFC 9110 section 8.6 allows either):
                // a proxy in front of us may have picked a different line.
                if contentLength != nil {
                    return .failure(RequestError(400, "Content-Length appears more than once; send exactly one Content-Length field"))
                }
                switch parseContentLength(value, maxBodyBytes: maxBodyBytes) {
                case .success(let length): contentLength = length
                case .failure(let error): return .failure(error)
                }
            case 17 where HTTPFields.namesEqual(name, "Transfer-Encoding"):
                sawTransferEncoding = true
                transferCodings += HTTPSyntax.listElements(value).map { element in
                    HTTPSyntax.lowercased(element.split(separator: ";", maxSplits: 1).first?.trimmingWhitespace() ?? "")
                }
            default:
                break
            }
        }

        if version == .http11 && hostCount != 1 && method != .connect {
            let problem = hostCount == 0 ? "has no Host field" : "has \(hostCount) Host fields"
            return .failure(RequestError(400, "the HTTP/1.1 request \(problem); send exactly one Host field (RFC 9112 section 3.2)"))
        }
        if version == .http10 && hostCount > 1 {
            return .failure(RequestError(400, "the request has \(hostCount) Host fields; send at most one"))
        }

        let framing: RequestHead.Framing
        if sawTransferEncoding {
            if version == .http10 {
                return .failure(RequestError(400, "Transfer-Encoding is not allowed in an HTTP/1.0 request (RFC 9112 section 6.1); send Content-Length"))
            }
            if contentLength != nil {
                return .failure(RequestError(400, "the request has both Content-Length and Transfer-Encoding (RFC 9112 section 6.3); send only one of them"))
            }
            switch checkTransferCodings(transferCodings) {
            case .some(let error): return .failure(error)
            case .none: framing = .chunked
            }
        } else {
            framing = .length(contentLength ?? 0)
        }

        let keepAlive: Bool
        if connectionOptions.contains("close") {
            keepAlive = false
        } else {
            keepAlive = version == .http11 || connectionOptions.contains("keep-alive")
        }

        var expectation = RequestHead.Expectation.none
        // An HTTP/1.0 client cannot expect 100-continue, so its Expect is ignored (RFC 9110 section 10.1.1).
        if version == .http11, !expectValues.isEmpty {
            let joined = expectValues.joined(separator: ", ")
            let elements = HTTPSyntax.listElements(joined).map(HTTPSyntax.lowercased)
            expectation = elements == ["100-continue"] ? .continue100 : .unsupported(joined)
        }

        let head = RequestHead(method: method, target: target, version: version, fields: fields, framing: framing,
                               keepAlive: keepAlive, expectation: expectation)
        return .success(head)
    }

    /// Parses `1*DIGIT` with overflow checked. `Int("+5")` would accept a sign, so digits are
    /// read one by one.
    static func parseContentLength(_ value: String, maxBodyBytes: Int) -> Result<Int, RequestError> {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            let fix = bytes.contains(UInt8(ascii: ",")) ? "send one Content-Length value" : "send only decimal digits"
            return .failure(RequestError(400, "Content-Length \(HTTPSyntax.quoted(bytes)) is not a decimal number of bytes; \(fix)"))
        }
        var length = 0
        for byte in bytes {
            let (shifted, overflow1) = length.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int(byte - 0x30))
            if overflow1 || overflow2 {
                return .failure(RequestError(400, "Content-Length \(value) is out of range; send a body of at most \(maxBodyBytes) bytes"))
            }
            length = sum
        }
        if length > maxBodyBytes {
            return .failure(RequestError(413, "Content-Length \(length) is larger than the limit of \(maxBodyBytes) bytes; send a smaller body"))
        }
        return .success(length)
    }

    /// Accepts exactly `chunked` as the only and final transfer coding. Another final coding
    /// cannot be framed (400); another coding before chunked is one we do not implement (501).
    private static func checkTransferCodings(_ codings: [String]) -> RequestError? {
        guard let last = codings.last else {
            return RequestError(400, "Transfer-Encoding is empty; send Transfer-Encoding: chunked")
        }
        if last != "chunked" {
            return RequestError(400, "the final transfer coding is \(last), not chunked, so the body length is unknown (RFC 9112 section 6.3); send Transfer-Encoding: chunked")
        }
        let others = codings.dropLast()
        if others.contains("chunked") {
            return RequestError(400, "chunked is applied more than once (RFC 9112 section 7); send Transfer-Encoding: chunked once")
        }
        if let other = others.first {
            return RequestError(501, "the transfer coding \(other) is not implemented; send Transfer-Encoding: chunked alone, or Content-Encoding: gzip for a compressed body")
        }
        return nil
    }

    /// Bytes of a reg-name or IPv4 address: unreserved, sub-delims and `%` (RFC 3986 section 3.2.2).
    private static let regNameTable: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in "-._~!$&'()*+,;=%".utf8 { table[Int(byte)] = true }
        return table
    }()

    /// Checks `uri-host [ ":" port ]` (RFC 9112 section 3.2, RFC 3986 section 3.2.2) loosely:
    /// only characters of a reg-name or an IPv4 address with each `%` starting a `%HH` escape,
    /// or a bracketed IPv6 literal, and a port of at most 5 digits. An empty value is valid,
    /// as RFC 9112 section 3.2 requires for a target URI without an authority.
    static func isValidHost(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        var hostEnd = bytes.count
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = bytes[1..<close]
            guard !literal.isEmpty, literal.allSatisfy({ HTTPSyntax.hexValue($0) != nil || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else {
                return false
            }
            hostEnd = close + 1
            guard hostEnd == bytes.count || bytes[hostEnd] == UInt8(ascii: ":") else { return false }
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            hostEnd = colon
        }
        if bytes.first != UInt8(ascii: "[") {
            let host = bytes[..<hostEnd]
            let isRegName = host.allSatisfy { RequestFraming.regNameTable[Int($0)] }
            guard isRegName else { return false }
            for index in host.indices where host[index] == UInt8(ascii: "%") {
                guard index + 2 < hostEnd, HTTPSyntax.hexValue(host[index + 1]) != nil, HTTPSyntax.hexValue(host[index + 2]) != nil else {
                    return false
                }
            }
        }
        if hostEnd < bytes.count {
            let port = bytes[(hostEnd + 1)...]
            guard port.count <= 5, port.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        }
        return true
    }
}
