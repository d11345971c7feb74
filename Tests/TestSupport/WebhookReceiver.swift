import Foundation
import Glibc

/// An HTTP receiver on 127.0.0.1 (ephemeral port) that responds to each request with the next
/// status of `statuses` (the last one repeats) and records what it received.
public final class WebhookReceiver: @unchecked Sendable {
    public struct Request {
        public var head: String
        public var body: [UInt8]
    }

    public let port: Int
    private let socket: Int32
    private let statuses: [Int]
    private let condition = NSCondition()
    private var requests: [Request] = []
    private var closed = false
    /// Signalled when the accept thread has returned, so `close` can release the descriptor.
    private let served = DispatchSemaphore(value: 0)
    /// The client the accept thread is reading, or -1: `close` shuts it down, so a client that
    /// never finishes its request cannot keep the thread from returning.
    private var handling: Int32 = -1

    public init(statuses: [Int]) throws {
        self.statuses = statuses
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.socket = socket
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var yes: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socket, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socket, $0, &length) }
        }
        let boundPort = Int(UInt16(bigEndian: address.sin_port))
        port = boundPort
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// Stops accepting, then closes the listening socket. The descriptor is closed only after
    /// the accept thread has returned: closed earlier, its number can be reused at once by a
    /// socket of a test that runs in parallel, and a late `accept` would take that test's
    /// connections.
    public func close() {
        condition.lock()
        let wasClosed = closed
        closed = true
        if handling >= 0 { shutdown(handling, Int32(SHUT_RDWR)) }
        condition.unlock()
        guard !wasClosed else { return }
        // Wakes a blocked accept, and makes every later one fail with EINVAL.
        shutdown(socket, Int32(SHUT_RDWR))
        served.wait()
        Glibc.close(socket)
    }

    /// Waits until `count` requests arrived or the deadline passed; returns what arrived.
    public func waitForRequests(_ count: Int, seconds: Double = 10) -> [Request] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(seconds)
        while requests.count < count && condition.wait(until: deadline) {}
        return requests
    }

    private func serve() {
        defer { served.signal() }
        while true {
            let client = accept(socket, nil, nil)
            guard client >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            condition.lock()
            if closed {
                condition.unlock()
                Glibc.close(client)
                return
            }
            handling = client
            condition.unlock()
            handle(client)
            condition.lock()
            handling = -1
            condition.unlock()
            Glibc.close(client)
        }
    }

    private func handle(_ client: Int32) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var headEnd: Int?
        var contentLength = 0
        while true {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            received.append(contentsOf: buffer[0..<count])
            if headEnd == nil, let range = String(decoding: received, as: UTF8.self).range(of: "\r\n\r\n") {
                let head = String(decoding: received, as: UTF8.self)[..<range.lowerBound]
                headEnd = head.utf8.count + 4
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let headEnd, received.count >= headEnd + contentLength {
                let head = String(decoding: received[0..<headEnd], as: UTF8.self)
                let body = Array(received[headEnd..<(headEnd + contentLength)])
                condition.lock()
                requests.append(Request(head: head, body: body))
                let status = statuses[min(requests.count - 1, statuses.count - 1)]
                condition.broadcast()
                condition.unlock()
                let response = "HTTP/1.1 \(status) Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                return
            }
        }
    }
}
