/// One accepted socket and its protocol state, owned by one event loop's thread.
final class Connection {
    let id: UInt64
    let fd: Int32
    var state: ConnectionState
    /// The epoll events currently registered, to skip needless `epoll_ctl` calls.
    var registeredEvents: UInt32
    /// Set while the write side is shut down and unread input is drained before `close`, so
    /// the kernel does not reset the connection before the client reads our last response.
    var lingerDeadline: Int64?
    var lingerDiscarded = 0
    /// Set when the descriptor is closed, so no later step touches a number the kernel may
    /// already have given to a new connection.
    var isClosed = false

    init(id: UInt64, fd: Int32, state: ConnectionState, registeredEvents: UInt32) {
        self.id = id
        self.fd = fd
        self.state = state
        self.registeredEvents = registeredEvents
    }
}
