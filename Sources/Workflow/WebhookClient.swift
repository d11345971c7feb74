import Glibc

/// A minimal HTTP/1.1 client for webhook POSTs to `http://` URLs, on non-blocking sockets with
/// poll(2) deadlines, so a slow or silent receiver costs at most the configured timeouts.
///
/// It sends one request with `Connection: close` and reads only the status line and header
/// section of the response. NOTE: no TLS, so https receivers are not supported yet.
enum WebhookClient {
    /// The maximum response head read, in bytes; a receiver sending more fails the attempt.
    static let maximumResponseHeadBytes = 16 * 1024

    /// Posts `body` to `url` and returns the response status code.
    static func post(_ url: WebhookURL, body: [UInt8], headers: [(String, String)], connectTimeoutMilliseconds: Int,
                     requestTimeoutMilliseconds: Int) throws(WebhookDeliveryError) -> Int {
        let deadline = monotonicMilliseconds() + Int64(requestTimeoutMilliseconds)
        let socket = try connect(url, timeoutMilliseconds: connectTimeoutMilliseconds)
        defer { close(socket) }

        let hostHeader = url.host.contains(":") ? "[\(url.host)]" : url.host
        var head = "POST \(url.target) HTTP/1.1\r\nHost: \(hostHeader):\(url.port)\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        head += "User-Agent: events-server-webhook\r\n"
        for (name, value) in headers {
            head += "\(name): \(value)\r\n"
        }
        head += "\r\n"
        try sendAll(Array(head.utf8) + body, on: socket, deadline: deadline)
        return try readStatus(from: socket, deadline: deadline)
    }

    // MARK: - Connect

    private static func connect(_ url: WebhookURL, timeoutMilliseconds: Int) throws(WebhookDeliveryError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard lookup == 0, let first = list else {
            throw WebhookDeliveryError("cannot resolve host \(url.host): \(String(cString: gai_strerror(lookup)))")
        }
        defer { freeaddrinfo(first) }

        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let address = cursor {
            cursor = address.pointee.ai_next
            let socket = Glibc.socket(address.pointee.ai_family,
                                      Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socket >= 0 else {
                lastError = "socket: \(errorText(errno))"
                continue
            }
            if Glibc.connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                return socket
            }
            guard errno == EINPROGRESS else {
                lastError = errorText(errno)
                close(socket)
                continue
            }
            let ready = waitFor(socket, events: Int16(POLLOUT), milliseconds: timeoutMilliseconds)
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(socket, SOL_SOCKET, SO_ERROR, &socketError, &length)
            if ready && socketError == 0 {
                return socket
            }
            lastError = ready ? errorText(socketError) : "connect timed out after \(timeoutMilliseconds) ms"
            close(socket)
        }
        throw WebhookDeliveryError("cannot connect to \(url.host):\(url.port): \(lastError)")
    }

    // MARK: - Send and receive

    private static func sendAll(_ bytes: [UInt8], on socket: Int32, deadline: Int64) throws(WebhookDeliveryError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer in
                send(socket, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            let code = errno
            guard sent < 0, code == EAGAIN || code == EWOULDBLOCK || code == EINTR else {
                throw WebhookDeliveryError("sending the request failed: \(errorText(code))")
            }
            guard waitFor(socket, events: Int16(POLLOUT), milliseconds: remaining(deadline)) else {
                throw WebhookDeliveryError("sending the request timed out")
            }
        }
    }

    private static func readStatus(from socket: Int32, deadline: Int64) throws(WebhookDeliveryError) -> Int {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let status = try parseStatus(received) {
                return status
            }
            guard received.count < maximumResponseHeadBytes else {
                throw WebhookDeliveryError("the response head is larger than \(maximumResponseHeadBytes) bytes")
            }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received.append(contentsOf: buffer[0..<count])
                continue
            }
            if count == 0 {
                throw WebhookDeliveryError("the receiver closed the connection before a complete response head")
            }
            let code = errno
            guard code == EAGAIN || code == EWOULDBLOCK || code == EINTR else {
                throw WebhookDeliveryError("reading the response failed: \(errorText(code))")
            }
            guard waitFor(socket, events: Int16(POLLIN), milliseconds: remaining(deadline)) else {
                throw WebhookDeliveryError("no response within the request timeout")
            }
        }
    }

    /// Returns the status code once the head is complete (`\r\n\r\n`), nil while it is not.
    static func parseStatus(_ bytes: [UInt8]) throws(WebhookDeliveryError) -> Int? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == terminator }) else {
            return nil
        }
        let statusLine = String(decoding: bytes[0..<end].prefix { $0 != 13 }, as: UTF8.self)
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]),
              (100...599).contains(status) else {
            throw WebhookDeliveryError("invalid response status line: \(statusLine.prefix(80))")
        }
        return status
    }

    // MARK: - Helpers

    private static func waitFor(_ socket: Int32, events: Int16, milliseconds: Int) -> Bool {
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        let end = monotonicMilliseconds() + Int64(max(milliseconds, 0))
        while true {
            let left = Int32(max(end - monotonicMilliseconds(), 0))
            let result = poll(&descriptor, 1, left)
            if result > 0 { return true }
            if result == 0 { return false }
            if errno != EINTR { return false }
        }
    }

    private static func remaining(_ deadline: Int64) -> Int {
        Int(max(deadline - monotonicMilliseconds(), 0))
    }

    private static func monotonicMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// A webhook attempt that failed before a status code was received.
struct WebhookDeliveryError: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}
