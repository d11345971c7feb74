/// An `http://host[:port]/path` URL, the only kind the webhook client can call.
///
/// NOTE: https receivers are not supported yet: the client speaks plain HTTP/1.1 over TCP and
/// has no TLS. Put a TLS-terminating proxy on the receiver's side for now.
public struct WebhookURL: Sendable, Equatable {
    public var host: String
    public var port: UInt16
    /// Path and query, starting with `/`.
    public var target: String

    public init(parsing text: String) throws(WebhookURLError) {
        let lowered = text.lowercased()
        if lowered.hasPrefix("https://") {
            throw WebhookURLError(message: "https URLs are not supported yet, got \(text); use an http:// URL")
        }
        guard lowered.hasPrefix("http://") else {
            throw WebhookURLError(message: "URL must start with http://, got \(text)")
        }
        let rest = text.dropFirst("http://".count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        guard !authority.isEmpty, !authority.contains("@") else {
            throw WebhookURLError(message: "URL must name a host without user info, got \(text)")
        }

        var hostPart = Substring(authority)
        var portValue: UInt16 = 80
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else {
                throw WebhookURLError(message: "URL has an unclosed IPv6 literal, got \(text)")
            }
            let afterClose = hostPart[hostPart.index(after: close)...]
            if afterClose.hasPrefix(":") {
                portValue = try WebhookURL.parsePort(afterClose.dropFirst(), url: text)
            } else if !afterClose.isEmpty {
                throw WebhookURLError(message: "URL has text after the IPv6 literal, got \(text)")
            }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portValue = try WebhookURL.parsePort(hostPart[hostPart.index(after: colon)...], url: text)
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty, !hostPart.contains(where: { $0 == " " || $0 == "\t" }) else {
            throw WebhookURLError(message: "URL must name a host, got \(text)")
        }
        guard !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
            throw WebhookURLError(message: "URL path must not contain spaces or line breaks, got \(text)")
        }
        host = String(hostPart)
        port = portValue
        target = path
    }

    private static func parsePort(_ digits: Substring, url: String) throws(WebhookURLError) -> UInt16 {
        guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = UInt16(digits), value > 0 else {
            throw WebhookURLError(message: "URL port must be between 1 and 65535, got \(digits) in \(url)")
        }
        return value
    }
}

/// A webhook URL that the client cannot call.
public struct WebhookURLError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
