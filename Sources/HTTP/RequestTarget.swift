/// The path and query of a request-target (RFC 9112 section 3.2), split and percent-decoded.
///
/// Path segments are decoded one by one, so `%2F` inside a segment stays part of that segment
/// and never becomes a separator. Query names and values are decoded with `%HH` only, so a
/// bare `+` stays a literal `+` and `%2B` is also `+`. RFC 3986 gives `+` no special meaning,
/// and a client sends a space as `%20`.
struct RequestTarget: Sendable, Equatable {
    enum Form: Sendable, Equatable {
        /// `/path?query`
        case origin
        /// `http://host/path?query`, as sent to proxies; servers must accept it too.
        case absolute
        /// `*`, for a server-wide OPTIONS.
        case asterisk
    }

    var form: Form
    /// Decoded path segments, without the empty one before the first `/`.
    var segments: [String]
    /// The decoded path: the segments joined with `/`.
    var path: String
    var query: [(name: String, value: String)]

    static func == (left: RequestTarget, right: RequestTarget) -> Bool {
        left.form == right.form && left.segments == right.segments && left.path == right.path
            && left.query.elementsEqual(right.query) { $0.name == $1.name && $0.value == $1.value }
    }

    /// Parses `target`; CONNECT's authority-form is handled before this is called.
    static func parse(_ target: String) -> Result<RequestTarget, RequestError> {
        if target == "*" {
            return .success(RequestTarget(form: .asterisk, segments: [], path: "*", query: []))
        }
        let bytes = Array(target.utf8)
        var start = 0
        var form = Form.origin
        var pathMissing = false
        if bytes.first != UInt8(ascii: "/") {
            let scheme = HTTPSyntax.lowercased(Substring(target.prefix(8)))
            guard scheme.hasPrefix("http://") || scheme.hasPrefix("https://") else {
                return .failure(RequestError(400, "the request-target \(HTTPSyntax.quoted(bytes)) is not a path; send a target that starts with / such as /api/v4.1/event", closesConnection: false))
            }
            form = .absolute
            let authorityStart = scheme.hasPrefix("http://") ? 7 : 8
            let pathStart = bytes[authorityStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? bytes.count
            if let error = checkAuthority(bytes[authorityStart..<pathStart]) {
                return .failure(error)
            }
            start = pathStart
            pathMissing = pathStart == bytes.count || bytes[pathStart] == UInt8(ascii: "?")
        }
        if bytes.contains(UInt8(ascii: "#")) {
            return .failure(RequestError(400, "the request-target contains a fragment (#); send the target without the fragment", closesConnection: false))
        }

        let questionMark = bytes[start...].firstIndex(of: UInt8(ascii: "?"))
        let rawPath = bytes[start..<(questionMark ?? bytes.count)]

        var segments: [String] = []
        if !pathMissing {
            var segmentStart = rawPath.startIndex + 1
            while true {
                let segmentEnd = rawPath[segmentStart...].firstIndex(of: UInt8(ascii: "/")) ?? rawPath.endIndex
                let rawSegment = rawPath[segmentStart..<segmentEnd]
                guard let segment = percentDecode(rawSegment) else {
                    return .failure(RequestError(400, "the path segment \(HTTPSyntax.quoted(rawSegment)) has an invalid percent-encoding or decodes to invalid UTF-8 or NUL; encode each byte as %HH", closesConnection: false))
                }
                segments.append(segment)
                if segmentEnd == rawPath.endIndex { break }
                segmentStart = segmentEnd + 1
            }
        } else {
            segments = [""]
        }

        var query: [(name: String, value: String)] = []
        if let questionMark {
            for pair in bytes[(questionMark + 1)...].split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
                let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
                let rawValue = equals == pair.endIndex ? pair[equals...] : pair[(equals + 1)...]
                guard let name = percentDecode(pair[..<equals]), let value = percentDecode(rawValue) else {
                    return .failure(RequestError(400, "the query parameter \(HTTPSyntax.quoted(pair)) has an invalid percent-encoding or decodes to invalid UTF-8 or NUL; encode each byte as %HH", closesConnection: false))
                }
                query.append((name, value))
            }
        }

        let path: String
        if pathMissing {
            path = "/"
        } else if !rawPath.contains(UInt8(ascii: "%")) {
            path = String(decoding: rawPath, as: UTF8.self)
        } else {
            path = "/" + segments.joined(separator: "/")
        }
        return .success(RequestTarget(form: form, segments: segments, path: path, query: query))
    }

    /// Checks the authority of an absolute-form target. Userinfo is rejected because RFC 9110
    /// section 4.2.4 forbids it in http and https URIs (it serves to disguise the host), and an
    /// empty host because section 4.2.1 requires recipients to reject it.
    private static func checkAuthority(_ authority: ArraySlice<UInt8>) -> RequestError? {
        if authority.contains(UInt8(ascii: "@")) {
            return RequestError(400, "the request-target contains userinfo (user@ or user:password@ before the host), which http URIs must not carry; send the path alone, such as /api/v4.1/event, and credentials in Authorization", closesConnection: false)
        }
        let host = String(decoding: authority, as: UTF8.self)
        guard !authority.isEmpty, authority.first != UInt8(ascii: ":"), RequestFraming.isValidHost(host) else {
            return RequestError(400, "the authority \(HTTPSyntax.quoted(authority)) of the request-target is not a valid host[:port]; send the path alone, such as /api/v4.1/event", closesConnection: false)
        }
        return nil
    }

    /// Decodes `%HH` escapes. Returns nil for a malformed escape, invalid UTF-8 or a NUL byte.
    static func percentDecode(_ text: ArraySlice<UInt8>) -> String? {
        if !text.contains(UInt8(ascii: "%")) { return String(decoding: text, as: UTF8.self) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < text.endIndex,
                      let high = HTTPSyntax.hexValue(text[index + 1]), let low = HTTPSyntax.hexValue(text[index + 2]) else { return nil }
                let decoded = high << 4 | low
                if decoded == 0 { return nil }
                bytes.append(decoded)
                index += 3
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
