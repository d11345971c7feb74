import Glibc
import HTTP

/// A response read back by `RawClient`, parsed just enough to check framing.
struct RawResponse {
    var status: Int
    var reason: String
    var headers: HTTPFields
    var body: [UInt8]

    var bodyText: String { String(decoding: body, as: UTF8.self) }
    var closes: Bool { headers["Connection"]?.lowercased() == "close" }
}

enum RawClientError: Error, CustomStringConvertible {
    case connectFailed(Int32)
    case timedOut(received: [UInt8])
    case malformed(String)

    var description: String {
        switch self {
        case .connectFailed(let code): return "connect failed: errno \(code)"
        case .timedOut(let received): return "timed out; received so far: \(String(decoding: received.prefix(400), as: UTF8.self))"
        case .malformed(let reason): return "malformed response: \(reason)"
        }
    }
}

/// A blocking TCP client for protocol tests: it sends exact bytes and parses the responses
/// that come back, with a deadline on every read so a broken server fails a test instead of
/// hanging it. `send` touches only the socket, so one thread may send while another reads;
/// that is the only concurrent use, hence `@unchecked Sendable`.
final class RawClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sawEOF = false
    private(set) var sawReset = false

    init(port: Int, host: String = "127.0.0.1") throws {
        let isIPv6 = host.contains(":")
        fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var result: Int32
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if result != 0 {
            let code = errno
            close(fd)
            throw RawClientError.connectFailed(code)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // A server that stops reading must fail a send within seconds, not block the test.
        var sendTimeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
    }

    /// Sends every byte; returns false when the server already closed or reset the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written <= 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Shuts down the sending side, as a client does after its last request.
    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads more bytes into the buffer; returns false at EOF, reset or timeout.
    private func fill(until deadline: Double) -> Bool {
        if sawEOF { return false }
        let remaining = deadline - RawClient.now()
        if remaining <= 0 { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(remaining * 1000) + 1)
        if ready <= 0 { return false }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count < 0 && errno == ECONNRESET { sawReset = true }
        sawEOF = true
        return false
    }

    /// Reads one response. `bodyless` is for answers to HEAD. Returns nil on EOF before any
    /// byte of a response; throws on a timeout or a malformed response.
    func readResponse(timeout: Double = 5, bodyless: Bool = false) throws -> RawResponse? {
        let deadline = RawClient.now() + timeout
        while true {
            if let response = try parseBuffered(bodyless: bodyless) { return response }
            if !fill(until: deadline) {
                if sawEOF {
                    if buffer.isEmpty { return nil }
                    throw RawClientError.malformed("EOF inside a response: \(String(decoding: buffer.prefix(300), as: UTF8.self))")
                }
                throw RawClientError.timedOut(received: buffer)
            }
        }
    }

    /// Reads responses until EOF or timeout. Returns them and whether EOF was seen.
    func readAllResponses(timeout: Double = 5) throws -> (responses: [RawResponse], closed: Bool) {
        var responses: [RawResponse] = []
        let deadline = RawClient.now() + timeout
        while true {
            if let response = try parseBuffered(bodyless: false) {
                responses.append(response)
                continue
            }
            if !fill(until: deadline) {
                if sawEOF && !buffer.isEmpty {
                    throw RawClientError.malformed("EOF inside a response: \(String(decoding: buffer.prefix(300), as: UTF8.self))")
                }
                return (responses, sawEOF)
            }
        }
    }

    /// Waits for the server to close the connection; true when it did within `timeout`.
    func waitForClose(timeout: Double = 5) -> Bool {
        let deadline = RawClient.now() + timeout
        while !sawEOF {
            if !fill(until: deadline) && !sawEOF { return false }
        }
        return true
    }

    /// Whether no byte arrives and the connection stays open for `duration` seconds.
    func staysQuiet(for duration: Double) -> Bool {
        let before = buffer.count
        _ = fill(until: RawClient.now() + duration)
        return buffer.count == before && !sawEOF
    }

    /// The bytes received and not yet parsed as a response.
    var unparsed: [UInt8] { buffer }

    private func parseBuffered(bodyless: Bool) throws -> RawResponse? {
        try RawClient.parseOne(&buffer, bodyless: bodyless)
    }

    /// Parses every complete response in `bytes`; throws if bytes are left over.
    static func parseAll(_ bytes: [UInt8]) throws -> [RawResponse] {
        var buffer = bytes
        var responses: [RawResponse] = []
        while let response = try parseOne(&buffer, bodyless: false) { responses.append(response) }
        if !buffer.isEmpty { throw RawClientError.malformed("\(buffer.count) bytes after the last complete response") }
        return responses
    }

    /// Removes and returns the first complete response in `buffer`, or nil when incomplete.
    static func parseOne(_ buffer: inout [UInt8], bodyless: Bool) throws -> RawResponse? {
        guard let headEnd = RawClient.find([13, 10, 13, 10], in: buffer) else { return nil }
        let headText = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", parts[1].count == 3, let status = Int(parts[1]) else {
            throw RawClientError.malformed("status line \(statusLine)")
        }
        var headers = HTTPFields()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw RawClientError.malformed("field line \(line)") }
            headers.append(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " "))
        }
        var bodyLength = 0
        if !bodyless && status >= 200 && status != 204 && status != 304 {
            guard let lengthText = headers["Content-Length"], let length = Int(lengthText), headers.values("Content-Length").count == 1 else {
                throw RawClientError.malformed("no single Content-Length in \(headText)")
            }
            bodyLength = length
        }
        let total = headEnd + 4 + bodyLength
        guard buffer.count >= total else { return nil }
        let body = Array(buffer[(headEnd + 4)..<total])
        buffer.removeFirst(total)
        return RawResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: body)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text = text.dropFirst() }
        while text.last == set { text = text.dropLast() }
        return String(text)
    }
}
