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
        var rest = Substring(target)
        var form = Form.origin
        if target.utf8.first != UInt8(ascii: "/") {
            let lowered = HTTPSyntax.lowercased(rest.prefix(8))
            guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
                return .failure(RequestError(400, "the request-target \(HTTPSyntax.quoted(target.utf8)) is not a path; send a target that starts with / such as /api/v4.1/event", closesConnection: false))
            }
            form = .absolute
            rest = rest[rest.index(rest.firstIndex(of: ":")!, offsetBy: 3)...]
            if let pathStart = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = rest[pathStart...]
                if rest.first == "?" { rest = "/" + rest }
            } else {
                rest = "/"
            }
        }
        if rest.utf8.contains(UInt8(ascii: "#")) {
            return .failure(RequestError(400, "the request-target contains a fragment (#); send the target without the fragment", closesConnection: false))
        }

        let rawPath: Substring
        let rawQuery: Substring?
        if let questionMark = rest.firstIndex(of: "?") {
            rawPath = rest[..<questionMark]
            rawQuery = rest[rest.index(after: questionMark)...]
        } else {
            rawPath = rest
            rawQuery = nil
        }

        var segments: [String] = []
        for rawSegment in rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let segment = percentDecode(rawSegment) else {
                return .failure(RequestError(400, "the path segment \(HTTPSyntax.quoted(rawSegment.utf8)) has an invalid percent-encoding or decodes to invalid UTF-8 or NUL; encode each byte as %HH", closesConnection: false))
            }
            segments.append(segment)
        }

        var query: [(name: String, value: String)] = []
        if let rawQuery {
            for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let rawName = parts[0]
                let rawValue = parts.count > 1 ? parts[1] : ""
                guard let name = percentDecode(rawName), let value = percentDecode(rawValue) else {
                    return .failure(RequestError(400, "the query parameter \(HTTPSyntax.quoted(pair.utf8)) has an invalid percent-encoding or decodes to invalid UTF-8 or NUL; encode each byte as %HH", closesConnection: false))
                }
                query.append((name, value))
            }
        }

        let path = "/" + segments.joined(separator: "/")
        return .success(RequestTarget(form: form, segments: segments, path: path, query: query))
    }

    /// Decodes `%HH` escapes. Returns nil for a malformed escape, invalid UTF-8 or a NUL byte.
    static func percentDecode(_ text: Substring) -> String? {
        let utf8 = text.utf8
        if !utf8.contains(UInt8(ascii: "%")) { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first != utf8.endIndex else { return nil }
                let second = utf8.index(after: first)
                guard second != utf8.endIndex,
                      let high = HTTPSyntax.hexValue(utf8[first]), let low = HTTPSyntax.hexValue(utf8[second]) else { return nil }
                let decoded = high << 4 | low
                if decoded == 0 { return nil }
                bytes.append(decoded)
                index = utf8.index(after: second)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
