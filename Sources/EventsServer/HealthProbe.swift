import Foundation
import Glibc

/// A minimal blocking HTTP/1.1 client for one `GET` with `Connection: close`, enough for a
/// health check. It needs no library beyond Glibc, so the container needs no curl.
struct HealthProbe {
    struct ProbeError: Error, CustomStringConvertible {
        let description: String
    }

    let host: String
    let port: Int
    let timeoutSeconds: Int

    /// Sends `GET path` and returns the status code of the response.
    func get(path: String) throws(ProbeError) -> Int {
        let socket = try connect()
        defer { close(socket) }

        let hostField = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostField)\r\nUser-Agent: events-server-healthcheck\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw ProbeError(description: "send failed: \(String(cString: strerror(errno)))") }
            sent += count
        }

        // The status line is all that is needed; read until it is complete or the server closes.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(0x0A) && received.count < 65_536 {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else {
                let reason = errno == EAGAIN ? "timed out after \(timeoutSeconds) s" : String(cString: strerror(errno))
                throw ProbeError(description: "reading the response failed: \(reason)")
            }
            received.append(contentsOf: buffer[0..<count])
        }

        let statusLine = String(decoding: received.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw ProbeError(description: "the response is not HTTP: \"\(statusLine.prefix(80))\"")
        }
        return status
    }

    /// Resolves the host and connects to the first address that accepts, within the timeout.
    private func connect() throws(ProbeError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var results: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &results)
        guard resolved == 0, let first = results else {
            throw ProbeError(description: "cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(results) }

        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let socket = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard socket >= 0 else {
                lastError = String(cString: strerror(errno))
                continue
            }
            var time = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            // On Linux SO_SNDTIMEO also bounds a blocking connect (socket(7)).
            if Glibc.connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                return socket
            }
            lastError = errno == EINPROGRESS || errno == EAGAIN ? "connect timed out after \(timeoutSeconds) s" : String(cString: strerror(errno))
            close(socket)
        }
        throw ProbeError(description: "cannot connect: \(lastError)")
    }
}
