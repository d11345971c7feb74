import Glibc

/// Checks that no other socket listens on the configured address before the server binds it.
///
/// The HTTP server binds one `SO_REUSEPORT` socket per event loop, and Linux lets a second
/// process of the same user bind the same port that way and then share the connections
/// (socket(7)). A plain bind without `SO_REUSEPORT` fails with EADDRINUSE in that case, so
/// trying one first turns a silent split of traffic into a clear start failure.
enum PortCheck {
    /// Throws when `host:port` is already bound. Port 0 always passes.
    static func requireFree(host: String, port: Int) throws(SettingError) {
        guard port != 0 else { return }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let address = results else {
            // The HTTP server reports an unresolvable host with its own message.
            return
        }
        defer { freeaddrinfo(results) }

        let socket = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard socket >= 0 else { return }
        defer { close(socket) }
        var enable: Int32 = 1
        // SO_REUSEADDR lets the bind succeed over connections in TIME_WAIT from a previous run.
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &enable, socklen_t(MemoryLayout<Int32>.size))
        if bind(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 && errno == EADDRINUSE {
            throw SettingError("port \(port) on \(host) is already in use by another process; stop it or choose another port")
        }
    }
}
