import Glibc

/// An incremental, strict parser of HTTP/1.1 requests (RFC 9112).
///
/// Feed it the unconsumed bytes of a connection and it returns how many it consumed and what it
/// found: a complete head, then the complete body, then the next request's head. It keeps only
/// the state of the message in progress, so any split of the same bytes into reads gives the
/// same events. A failure is final: the connection sends its error response and closes.
struct RequestParser {
    struct Limits: Sendable {
        var requestLineBytes = 8_192
        var headerBytes = 32_768
        var headerCount = 100
        var bodyBytes = 1_048_576
        /// A chunk-size line with its extensions, without CRLF.
        var chunkLineBytes = 1_024

        init() {}

        init(_ configuration: HTTPServerConfiguration) {
            requestLineBytes = configuration.maxRequestLineBytes
            headerBytes = configuration.maxHeaderBytes
            headerCount = configuration.maxHeaderCount
            bodyBytes = configuration.maxBodyBytes
        }
    }

    enum Event {
        case needMoreData
        case head(RequestHead)
        case body([UInt8])
        case failure(RequestError)
    }

    private enum State {
        case requestLine
        case fields
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(RequestError)
    }

    /// Empty lines accepted before a request line. RFC 9112 section 2.2 tells servers to skip
    /// at least one, because some clients send one after a POST body.
    private static let maxLeadingEmptyLines = 8

    let limits: Limits
    private var state = State.requestLine
    /// Bytes of the incomplete line at the start of the input already searched for LF.
    private var scannedLineBytes = 0
    private var leadingEmptyLines = 0
    private var method = HTTPMethod.get
    private var target = ""
    private var version = HTTPVersion.http11
    private var fields = HTTPFields()
    private var fieldSectionBytes = 0
    private var body: [UInt8] = []
    private var trailerBytes = 0

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Whether the parser is between requests, with nothing of the next one seen yet.
    var isIdle: Bool {
        if case .requestLine = state { return scannedLineBytes == 0 && leadingEmptyLines == 0 }
        return false
    }

    /// Whether the head of the current request is complete and its body is being read.
    var isReadingBody: Bool {
        switch state {
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers: return true
        default: return false
        }
    }

    /// Parses from the start of `bytes` and returns the count consumed and the first event.
    /// Call again with the remaining bytes until it returns `.needMoreData`.
    mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> (consumed: Int, event: Event) {
        var offset = 0
        while true {
            switch state {
            case .failed(let error):
                return (offset, .failure(error))

            case .requestLine:
                switch nextLine(bytes, from: offset, limit: limits.requestLineBytes) {
                case .incomplete:
                    return (offset, .needMoreData)
                case .failure(let error):
                    return (offset, fail(error))
                case .tooLong:
                    return (offset, fail(RequestError(414, "the request line is longer than \(limits.requestLineBytes) bytes; shorten the request-target (move data into the body)")))
                case .line(let line, let next):
                    offset = next
                    if line.isEmpty {
                        leadingEmptyLines += 1
                        if leadingEmptyLines > RequestParser.maxLeadingEmptyLines {
                            return (offset, fail(RequestError(400, "more than \(RequestParser.maxLeadingEmptyLines) empty lines before the request line; send the request line first")))
                        }
                        continue
                    }
                    if let error = parseRequestLine(UnsafeBufferPointer(rebasing: bytes[line])) {
                        return (offset, fail(error))
                    }
                    state = .fields
                }

            case .fields:
                let remaining = limits.headerBytes - fieldSectionBytes
                switch nextLine(bytes, from: offset, limit: max(0, remaining - 2)) {
                case .incomplete:
                    return (offset, .needMoreData)
                case .failure(let error):
                    return (offset, fail(error))
                case .tooLong:
                    return (offset, fail(headerSectionTooLarge()))
                case .line(let line, let next):
                    offset = next
                    if line.isEmpty {
                        switch makeHead() {
                        case .success(let head):
                            return (offset, .head(head))
                        case .failure(let error):
                            return (offset, fail(error))
                        }
                    }
                    fieldSectionBytes += line.count + 2
                    if fields.count >= limits.headerCount {
                        return (offset, fail(RequestError(431, "the header section has more than \(limits.headerCount) field lines; send fewer fields")))
                    }
                    switch RequestParser.parseFieldLine(UnsafeBufferPointer(rebasing: bytes[line])) {
                    case .success(let field):
                        fields.append(field.name, field.value)
                    case .failure(let error):
                        return (offset, fail(error))
                    }
                }

            case .fixedBody(let remaining):
                if remaining == 0 {
                    return (offset, .body(finishMessage()))
                }
                let available = min(remaining, bytes.count - offset)
                if available == 0 { return (offset, .needMoreData) }
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[offset..<(offset + available)]))
                offset += available
                state = .fixedBody(remaining: remaining - available)

            case .chunkSize:
                switch nextLine(bytes, from: offset, limit: limits.chunkLineBytes) {
                case .incomplete:
                    return (offset, .needMoreData)
                case .failure(let error):
                    return (offset, fail(error))
                case .tooLong:
                    return (offset, fail(RequestError(400, "a chunk-size line is longer than \(limits.chunkLineBytes) bytes; send shorter chunk extensions")))
                case .line(let line, let next):
                    offset = next
                    switch parseChunkSize(UnsafeBufferPointer(rebasing: bytes[line])) {
                    case .success(0):
                        state = .trailers
                    case .success(let size):
                        state = .chunkData(remaining: size)
                    case .failure(let error):
                        return (offset, fail(error))
                    }
                }

            case .chunkData(let remaining):
                if remaining == 0 {
                    state = .chunkDataEnd
                    continue
                }
                let available = min(remaining, bytes.count - offset)
                if available == 0 { return (offset, .needMoreData) }
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[offset..<(offset + available)]))
                offset += available
                state = .chunkData(remaining: remaining - available)

            case .chunkDataEnd:
                if bytes.count - offset < 2 {
                    if bytes.count - offset == 1 && bytes[offset] != HTTPSyntax.cr {
                        return (offset, fail(RequestError(400, "chunk data is not followed by CRLF; make each chunk exactly as long as its chunk size")))
                    }
                    return (offset, .needMoreData)
                }
                guard bytes[offset] == HTTPSyntax.cr, bytes[offset + 1] == HTTPSyntax.lf else {
                    return (offset, fail(RequestError(400, "chunk data is not followed by CRLF; make each chunk exactly as long as its chunk size")))
                }
                offset += 2
                state = .chunkSize

            case .trailers:
                let remaining = limits.headerBytes - trailerBytes
                switch nextLine(bytes, from: offset, limit: max(0, remaining - 2)) {
                case .incomplete:
                    return (offset, .needMoreData)
                case .failure(let error):
                    return (offset, fail(error))
                case .tooLong:
                    return (offset, fail(RequestError(431, "the trailer section is larger than \(limits.headerBytes) bytes; send fewer trailer fields")))
                case .line(let line, let next):
                    offset = next
                    if line.isEmpty {
                        return (offset, .body(finishMessage()))
                    }
                    trailerBytes += line.count + 2
                    // Trailer fields are checked for syntax and then dropped: no handler reads them.
                    if case .failure(let error) = RequestParser.parseFieldLine(UnsafeBufferPointer(rebasing: bytes[line])) {
                        return (offset, fail(error))
                    }
                }
            }
        }
    }

    // MARK: - Lines

    private enum LineResult {
        case line(Range<Int>, next: Int)
        case incomplete
        case tooLong
        case failure(RequestError)
    }

    /// Finds the CRLF-terminated line at `start`. A bare LF is rejected: RFC 9112 section 2.2
    /// lets a recipient accept one, but a strict server must not frame differently from others.
    private mutating func nextLine(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int) -> LineResult {
        let searchFrom = start + scannedLineBytes
        let available = bytes.count - searchFrom
        var found: Int?
        if available > 0, let base = bytes.baseAddress {
            if let pointer = memchr(base + searchFrom, Int32(HTTPSyntax.lf), available) {
                found = base.distance(to: pointer.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard let lfIndex = found else {
            scannedLineBytes = bytes.count - start
            // A line of `limit` bytes is still allowed its CR, so only more than limit + 1 fails.
            return scannedLineBytes > limit + 1 ? .tooLong : .incomplete
        }
        scannedLineBytes = 0
        guard lfIndex > start, bytes[lfIndex - 1] == HTTPSyntax.cr else {
            return .failure(RequestError(400, "a line ends with a bare LF; end every line with CRLF"))
        }
        let line = start..<(lfIndex - 1)
        if line.count > limit { return .tooLong }
        return .line(line, next: lfIndex + 1)
    }

    // MARK: - Request line

    /// Parses `method SP request-target SP HTTP-version` (RFC 9112 section 3).
    private mutating func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) -> RequestError? {
        guard let firstSpace = line.firstIndex(of: HTTPSyntax.space) else {
            return RequestError(400, "the request line \(HTTPSyntax.quoted(line)) is not `method SP request-target SP HTTP-version`")
        }
        guard let lastSpace = line.lastIndex(of: HTTPSyntax.space), lastSpace > firstSpace else {
            return RequestError(400, "the request line \(HTTPSyntax.quoted(line)) is not `method SP request-target SP HTTP-version`")
        }
        let methodBytes = line[..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<lastSpace]
        let versionBytes = line[(lastSpace + 1)...]

        guard HTTPSyntax.isToken(methodBytes) else {
            return RequestError(400, "the method \(HTTPSyntax.quoted(methodBytes)) is not a token; send a method such as GET or POST")
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return RequestError(400, "the request-target \(HTTPSyntax.quoted(targetBytes)) is empty or contains whitespace, control or non-ASCII bytes; percent-encode them")
        }
        switch RequestParser.parseVersion(versionBytes) {
        case .success(let parsed):
            version = parsed
        case .failure(let error):
            return error
        }
        method = HTTPMethod(String(decoding: methodBytes, as: UTF8.self))
        target = String(decoding: targetBytes, as: UTF8.self)
        return nil
    }

    private static func parseVersion(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Result<HTTPVersion, RequestError> {
        let text = Array(bytes)
        let isWellFormed = text.count == 8 && text[0..<5].elementsEqual("HTTP/".utf8)
            && (0x30...0x39).contains(text[5]) && text[6] == UInt8(ascii: ".") && (0x30...0x39).contains(text[7])
        guard isWellFormed else {
            return .failure(RequestError(400, "the HTTP version \(HTTPSyntax.quoted(bytes)) is malformed; send HTTP/1.1"))
        }
        switch (text[5], text[7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): return .success(.http11)
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): return .success(.http10)
        default:
            let shown = String(decoding: text, as: UTF8.self)
            return .failure(RequestError(505, "\(shown) is not supported; send HTTP/1.1 or HTTP/1.0"))
        }
    }

    // MARK: - Field lines

    /// Parses `field-name ":" OWS field-value OWS` (RFC 9112 section 5).
    static func parseFieldLine(_ line: UnsafeBufferPointer<UInt8>) -> Result<(name: String, value: String), RequestError> {
        if let first = line.first, HTTPSyntax.isWhitespace(first) {
            return .failure(RequestError(400, "a field line starts with whitespace (obsolete line folding, RFC 9112 section 5.2); put each field on one line"))
        }
        guard let colon = line.firstIndex(of: HTTPSyntax.colon) else {
            return .failure(RequestError(400, "the field line \(HTTPSyntax.quoted(line)) has no colon; send `name: value`"))
        }
        let name = line[..<colon]
        if let last = name.last, HTTPSyntax.isWhitespace(last) {
            return .failure(RequestError(400, "the field name \(HTTPSyntax.quoted(name)) is followed by whitespace before the colon (RFC 9112 section 5.1); remove it"))
        }
        guard HTTPSyntax.isToken(name) else {
            return .failure(RequestError(400, "the field name \(HTTPSyntax.quoted(name)) is not a token; use letters, digits and !#$%&'*+-.^_`|~"))
        }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, HTTPSyntax.isWhitespace(line[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, HTTPSyntax.isWhitespace(line[valueEnd - 1]) { valueEnd -= 1 }
        let value = line[valueStart..<valueEnd]
        guard value.allSatisfy(HTTPSyntax.isFieldValueByte) else {
            let nameText = String(decoding: name, as: UTF8.self)
            return .failure(RequestError(400, "the value of field \(nameText) contains a control character; remove it or percent-encode it"))
        }
        return .success((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    private func headerSectionTooLarge() -> RequestError {
        RequestError(431, "the header section is larger than \(limits.headerBytes) bytes; send fewer or shorter fields")
    }

    // MARK: - Chunks

    /// Parses `chunk-size [ chunk-ext ]` (RFC 9112 section 7.1) and checks the running body size.
    private func parseChunkSize(_ line: UnsafeBufferPointer<UInt8>) -> Result<Int, RequestError> {
        var size: UInt64 = 0
        var digits = 0
        while digits < line.count, let value = HTTPSyntax.hexValue(line[digits]) {
            digits += 1
            if digits > 16 {
                return .failure(RequestError(400, "a chunk size has more than 16 hex digits; send chunks of at most \(limits.bodyBytes) bytes"))
            }
            size = size << 4 | UInt64(value)
        }
        guard digits > 0 else {
            return .failure(RequestError(400, "the chunk-size line \(HTTPSyntax.quoted(line)) does not start with a hex chunk size"))
        }
        let extensions = line[digits...]
        if !extensions.isEmpty {
            let start = extensions.firstIndex { !HTTPSyntax.isWhitespace($0) }
            let isValid = start.map { line[$0] == UInt8(ascii: ";") } ?? false
            guard isValid, extensions.allSatisfy(HTTPSyntax.isFieldValueByte) else {
                return .failure(RequestError(400, "the chunk-size line \(HTTPSyntax.quoted(line)) has invalid chunk extensions; send `size;name=value` or the size alone"))
            }
        }
        if size > UInt64(limits.bodyBytes - body.count) {
            return .failure(RequestError(413, "the chunked body is larger than \(limits.bodyBytes) bytes; send a smaller body"))
        }
        return .success(Int(size))
    }

    /// Builds the head from the parsed parts and moves to reading its body.
    private mutating func makeHead() -> Result<RequestHead, RequestError> {
        let result = RequestFraming.makeHead(method: method, target: target, version: version, fields: fields,
                                             maxBodyBytes: limits.bodyBytes)
        if case .success(let head) = result {
            switch head.framing {
            case .length(let length):
                // Reserve no more than 64 KiB before the bytes arrive, so a claimed length costs nothing.
                body.reserveCapacity(min(length, 65_536))
                state = .fixedBody(remaining: length)
            case .chunked:
                state = .chunkSize
            }
        }
        return result
    }

    // MARK: - Message end

    private mutating func fail(_ error: RequestError) -> Event {
        state = .failed(error)
        return .failure(error)
    }

    private mutating func finishMessage() -> [UInt8] {
        let complete = body
        body = []
        fields = HTTPFields()
        fieldSectionBytes = 0
        trailerBytes = 0
        leadingEmptyLines = 0
        state = .requestLine
        return complete
    }
}
