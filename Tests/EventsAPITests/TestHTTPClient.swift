import Foundation
import Glibc
import JSON

/// A response read by `TestHTTPClient`.
struct TestResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// Parses the body as JSON; throws with the body text when it is not JSON.
    func json() throws -> JSONValue {
        do {
            return try JSONParser().parse(body)
        } catch {
            throw TestClientError("response body is not JSON (\(error)): \(text)")
        }
    }

    /// The message of a Fluent error body, or nil.
    var errorMessage: String? {
        (try? json())?["errors"]?.arrayValue?.first?["message"]?.stringValue
    }
}

struct TestClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A minimal blocking HTTP/1.1 client over one TCP connection to 127.0.0.1, for tests that
/// need real sockets: it writes bytes exactly as given and reads responses framed by
/// Content-Length (or by the close of the connection).
final class TestHTTPClient {
    private let socket: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 15) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestClientError("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(socket)
            throw TestClientError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
    }

    deinit {
        close(socket)
    }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw TestClientError("send failed: errno \(errno)") }
            sent += count
        }
    }

    func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    /// Sends one request with `Host` and, for a POST or a body, `Content-Length` added.
    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> TestResponse {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try write(Array(head.utf8) + body)
        return try readResponse(method: method)
    }

    /// Reads one response.
    func readResponse(method: String = "GET") throws -> TestResponse {
        let headEnd = try fill(until: { buffer in Self.find([13, 10, 13, 10], in: buffer) })
        guard let headEnd else { throw TestClientError("connection closed before a response head") }
        let headText = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)

        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw TestClientError("bad status line: \(statusLine)") }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = TestResponse(status: status, headers: headers, body: [])
        if status == 100 || status == 204 || status == 304 || method == "HEAD" { return response }

        if let length = response.header("Content-Length").flatMap(Int.init) {
            _ = try fill(until: { $0.count >= length ? length : nil })
            guard buffer.count >= length else { throw TestClientError("connection closed inside a body") }
            response.body = Array(buffer[..<length])
            buffer.removeFirst(length)
        } else {
            _ = try fill(until: { _ in nil })
            response.body = buffer
            buffer.removeAll()
        }
        return response
    }

    /// Returns true when the server has closed the connection (a read returns end of stream).
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        return buffer.isEmpty && recv(socket, &byte, 1, 0) == 0
    }

    private func fill(until done: ([UInt8]) -> Int?) throws -> Int? {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let found = done(buffer) { return found }
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return done(buffer) }
            guard count > 0 else { throw TestClientError("recv failed or timed out: errno \(errno)") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }
}
