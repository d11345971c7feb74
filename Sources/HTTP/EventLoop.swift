import CSystem
import Foundation
import Synchronization
import Telemetry

/// One epoll event-loop thread: it accepts from its own listening socket, reads, parses, runs
/// `.inline` handlers and writes for the connections it accepted. Other threads talk to it only
/// through `post`, which queues a message and wakes the loop through an eventfd.
///
/// Everything except `mailbox` and `threadID` is used only on the loop's thread, which is why
/// the class can be `@unchecked Sendable`.
final class EventLoop: @unchecked Sendable {
    enum Message {
        case response(connectionID: UInt64, sequence: Int, HTTPResponse)
        case shutdown(deadline: Int64)
    }

    private static let wakeToken: UInt64 = 0
    private static let listenToken: UInt64 = 1
    /// How often timeouts are checked, in milliseconds; a timeout fires up to this much late.
    private static let tickMilliseconds: Int64 = 100
    private static let lingerMilliseconds: Int64 = 2_000
    private static let lingerMaxBytes = 1_048_576
    private static let acceptPauseMilliseconds: Int64 = 100
    private static let readChunkBytes = 65_536

    let index: Int
    private let shared: ServerShared
    private let context: ConnectionContext
    private let epollFD: Int32
    private let wakeFD: Int32
    private var listenFD: Int32
    private let mailbox = Mutex<(open: Bool, messages: [Message])>((true, []))
    private let threadID = Atomic<UInt>(0)

    private var connections: [UInt64: Connection] = [:]
    private var nextConnectionID: UInt64 = 2
    private var readBuffer: UnsafeMutableBufferPointer<UInt8>
    private var acceptPausedUntil: Int64?
    private var shutdownDeadline: Int64?
    private var lastTick: Int64 = 0
    /// The connection whose input is being processed, so an inline `send` does not write early.
    private var servicing: UInt64?

    init(index: Int, listenFD: Int32, shared: ServerShared) throws(HTTPServerError) {
        self.index = index
        self.listenFD = listenFD
        self.shared = shared
        context = ConnectionContext(configuration: shared.configuration, router: shared.router, logger: shared.logger,
                                    registry: shared.registry, loopIndex: index)
        epollFD = cs_epoll_create()
        guard epollFD >= 0 else { throw .system(call: "epoll_create1", address: "event loop \(index)", errno: errno) }
        wakeFD = cs_eventfd()
        guard wakeFD >= 0 else {
            let code = errno
            close(epollFD)
            throw .system(call: "eventfd", address: "event loop \(index)", errno: code)
        }
        readBuffer = .allocate(capacity: EventLoop.readChunkBytes)
        _ = cs_epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, cs_epoll_in, EventLoop.wakeToken)
        _ = cs_epoll_ctl(epollFD, EPOLL_CTL_ADD, listenFD, cs_epoll_in, EventLoop.listenToken)
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: - Cross-thread entry points

    /// Queues `message` for the loop thread. Returns false once the loop has stopped.
    @discardableResult
    func post(_ message: Message) -> Bool {
        let (accepted, wasEmpty) = mailbox.withLock { box -> (Bool, Bool) in
            guard box.open else { return (false, false) }
            let wasEmpty = box.messages.isEmpty
            box.messages.append(message)
            // Signal while holding the lock: the loop closes wakeFD under the same lock.
            if wasEmpty { _ = cs_eventfd_signal(wakeFD) }
            return (true, wasEmpty)
        }
        _ = wasEmpty
        return accepted
    }

    var isLoopThread: Bool {
        threadID.load(ordering: .relaxed) == UInt(pthread_self())
    }

    /// Delivers a handler's response: directly when called on the loop thread, else by message.
    func deliver(connectionID: UInt64, sequence: Int, response: HTTPResponse) {
        if isLoopThread {
            complete(connectionID: connectionID, sequence: sequence, response: response)
        } else {
            post(.response(connectionID: connectionID, sequence: sequence, response))
        }
    }

    /// Delivers a handler's response, first compressing a large body that gets gzip on a worker
    /// thread (see `LargeBodyCompression`): on the calling thread when it is a worker, else as a
    /// new job. When the worker queue is full the body is delivered uncompressed.
    private func deliverCompressingLargeBody(connectionID: UInt64, sequence: Int, response: HTTPResponse,
                                             acceptEncoding: AcceptEncoding.Choice) {
        let configuration = shared.configuration
        guard LargeBodyCompression.isNeeded(for: response, choice: acceptEncoding, threshold: configuration.compressionThreshold) else {
            deliver(connectionID: connectionID, sequence: sequence, response: response)
            return
        }
        let level = configuration.compressionLevel
        if shared.workers.isCurrentThreadWorker {
            deliver(connectionID: connectionID, sequence: sequence, response: LargeBodyCompression.compress(response, level: level))
            return
        }
        let queued = shared.workers.submit { [self] in
            deliver(connectionID: connectionID, sequence: sequence, response: LargeBodyCompression.compress(response, level: level))
        }
        if !queued {
            deliver(connectionID: connectionID, sequence: sequence, response: response)
        }
    }

    // MARK: - The loop

    /// Runs until shutdown has closed every connection or its deadline passed.
    func run() {
        threadID.store(UInt(pthread_self()), ordering: .relaxed)
        var events = [UInt32](repeating: 0, count: 256)
        var tokens = [UInt64](repeating: 0, count: 256)
        while true {
            let count = events.withUnsafeMutableBufferPointer { eventsPointer in
                tokens.withUnsafeMutableBufferPointer { tokensPointer in
                    cs_epoll_wait(epollFD, eventsPointer.baseAddress, tokensPointer.baseAddress, 256, Int32(EventLoop.tickMilliseconds))
                }
            }
            if count < 0 && errno != EINTR {
                shared.logConnectionError("epoll_wait failed", [("errno", String(errno)), ("loop", String(index))])
            }
            let now = EventLoop.nowMilliseconds()
            for item in 0..<max(0, Int(count)) {
                switch tokens[item] {
                case EventLoop.wakeToken:
                    drainMailbox(now: now)
                case EventLoop.listenToken:
                    acceptConnections(now: now)
                default:
                    handleEvent(events[item], connectionID: tokens[item], now: now)
                }
            }
            if now - lastTick >= EventLoop.tickMilliseconds {
                lastTick = now
                tick(now: now)
            }
            if let shutdownDeadline, connections.isEmpty || now >= shutdownDeadline {
                break
            }
        }
        stop()
    }

    private func stop() {
        for connection in Array(connections.values) {
            closeNow(connection)
        }
        mailbox.withLock { box in
            box.open = false
            box.messages.removeAll()
            close(wakeFD)
        }
        closeListener()
        close(epollFD)
    }

    /// Closes the descriptors of a loop that never ran, after a later loop failed to start.
    func discard() {
        mailbox.withLock { box in
            box.open = false
            close(wakeFD)
        }
        closeListener()
        close(epollFD)
    }

    private func closeListener() {
        guard listenFD >= 0 else { return }
        _ = cs_epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, 0, 0)
        close(listenFD)
        listenFD = -1
    }

    static func nowMilliseconds() -> Int64 {
        Int64(TimeFormat.monotonicNanoseconds() / 1_000_000)
    }

    // MARK: - Messages and timers

    private func drainMailbox(now: Int64) {
        _ = cs_eventfd_drain(wakeFD)
        let messages = mailbox.withLock { box -> [Message] in
            let taken = box.messages
            box.messages.removeAll(keepingCapacity: true)
            return taken
        }
        for message in messages {
            switch message {
            case .response(let connectionID, let sequence, let response):
                complete(connectionID: connectionID, sequence: sequence, response: response)
            case .shutdown(let deadline):
                beginShutdown(deadline: deadline)
            }
        }
    }

    private func complete(connectionID: UInt64, sequence: Int, response: HTTPResponse) {
        guard let connection = connections[connectionID] else { return }
        let now = EventLoop.nowMilliseconds()
        guard connection.state.complete(sequence: sequence, with: response, now: now) else {
            shared.logger.warning("a handler sent a second response or one for a closed request; it was dropped",
                                  [("status", String(response.status))])
            return
        }
        if servicing != connectionID {
            service(connection, now: now)
        }
    }

    private func beginShutdown(deadline: Int64) {
        guard shutdownDeadline == nil else { return }
        shutdownDeadline = deadline
        closeListener()
        for connection in Array(connections.values) {
            if connection.state.beginShutdown() {
                closeNow(connection)
            } else {
                service(connection, now: EventLoop.nowMilliseconds())
            }
        }
    }

    private func tick(now: Int64) {
        if let pausedUntil = acceptPausedUntil, now >= pausedUntil, listenFD >= 0 {
            acceptPausedUntil = nil
            _ = cs_epoll_ctl(epollFD, EPOLL_CTL_MOD, listenFD, cs_epoll_in, EventLoop.listenToken)
        }
        for connection in Array(connections.values) {
            if let lingerDeadline = connection.lingerDeadline {
                if now >= lingerDeadline { closeNow(connection) }
                continue
            }
            switch connection.state.checkTimeouts(now: now) {
            case .none:
                break
            case .closeNow:
                closeNow(connection, reset: connection.state.hasPendingOutput)
            case .closeAfterWriting:
                writeOut(connection, now: now)
            }
        }
    }

    // MARK: - Accepting

    private func acceptConnections(now: Int64) {
        let configuration = shared.configuration
        for _ in 0..<64 {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { cs_accept(listenFD, $0, &length) }
            }
            if fd < 0 {
                let code = errno
                switch code {
                case EAGAIN, EWOULDBLOCK:
                    return
                case EINTR, ECONNABORTED, EPROTO:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: stop polling the listener for a moment
                    // instead of spinning on a socket that stays readable.
                    acceptPausedUntil = now + EventLoop.acceptPauseMilliseconds
                    _ = cs_epoll_ctl(epollFD, EPOLL_CTL_MOD, listenFD, 0, EventLoop.listenToken)
                    shared.logConnectionError("accept failed; pausing accepts for \(EventLoop.acceptPauseMilliseconds) ms", [
                        ("error", String(cString: strerror(code))), ("openConnections", String(shared.openConnections.load(ordering: .relaxed)))])
                    return
                default:
                    shared.logConnectionError("accept failed", [("error", String(cString: strerror(code)))])
                    return
                }
            }

            let open = shared.openConnections.add(1, ordering: .relaxed).newValue
            if open > configuration.maxConnections {
                shared.openConnections.subtract(1, ordering: .relaxed)
                rejectOverLimit(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let id = nextConnectionID
            nextConnectionID += 1
            let events = cs_epoll_in | cs_epoll_rdhup
            guard cs_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, events, id) == 0 else {
                shared.logConnectionError("epoll_ctl failed for a new connection", [("error", String(cString: strerror(errno)))])
                close(fd)
                shared.openConnections.subtract(1, ordering: .relaxed)
                continue
            }
            let state = ConnectionState(context: context, remoteAddress: SocketAddress.host(of: address), now: now)
            connections[id] = Connection(id: id, fd: fd, state: state, registeredEvents: events)
        }
    }

    /// Sends a 503 to a connection beyond `maxConnections` and closes it.
    private func rejectOverLimit(_ fd: Int32) {
        var output: [UInt8] = []
        let response = HTTPResponse.error(503, "the server has reached its limit of \(shared.configuration.maxConnections) connections; retry later or reuse a keep-alive connection",
                                          headers: HTTPFields([("Retry-After", String(shared.configuration.retryAfterSeconds))]))
        _ = context.encoder.encode(response, method: .get, acceptEncoding: .identity, keepAlive: false,
                                   requestID: context.requestIDs.next(), into: &output)
        _ = output.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
        close(fd)
        shared.logConnectionError("connection rejected: maxConnections reached", [("maxConnections", String(shared.configuration.maxConnections))])
    }

    // MARK: - Connection events

    private func handleEvent(_ events: UInt32, connectionID: UInt64, now: Int64) {
        guard let connection = connections[connectionID] else { return }
        if events & (cs_epoll_in | cs_epoll_hup | cs_epoll_err | cs_epoll_rdhup) != 0 {
            if connection.lingerDeadline != nil {
                discardLingering(connection)
                return
            }
            if connection.state.wantsRead {
                readInput(connection, peerClosed: events & cs_epoll_rdhup != 0, now: now)
            } else if events & (cs_epoll_hup | cs_epoll_err) != 0 && events & cs_epoll_out == 0 {
                closeNow(connection)
                return
            }
        }
        if events & cs_epoll_out != 0, connections[connectionID] != nil {
            writeOut(connection, now: now)
        }
    }

    /// Reads once, or until EOF when the peer has half-closed (`peerClosed`, from EPOLLRDHUP).
    /// Requests that arrived together with the FIN are then parsed after EOF is recorded, so
    /// the last response carries `Connection: close`.
    private func readInput(_ connection: Connection, peerClosed: Bool, now: Int64) {
        var received = false
        repeat {
            let count = recv(connection.fd, readBuffer.baseAddress, readBuffer.count, 0)
            if count > 0 {
                connection.state.receive(UnsafeBufferPointer(rebasing: readBuffer[0..<count]), now: now)
                received = true
                continue
            }
            if count == 0 {
                connection.state.receiveEOF()
                received = true
                break
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { break }
            if code != ECONNRESET && code != EPIPE {
                shared.logConnectionError("recv failed", [("error", String(cString: strerror(code))), ("remote", connection.state.remoteAddress)])
            }
            closeNow(connection)
            return
        } while peerClosed && connection.state.wantsRead
        if received {
            service(connection, now: now)
        }
    }

    /// Parses what was read, dispatches the complete requests and writes what is ready. Parsing
    /// that paused at the output high-water mark goes on as long as the client takes the output.
    private func service(_ connection: Connection, now: Int64) {
        guard !connection.isClosed else { return }
        let previous = servicing
        servicing = connection.id
        repeat {
            // An inline handler responds at once, which can free the slot the next request waits for.
            var dispatches = connection.state.process(now: now)
            while !dispatches.isEmpty && !connection.isClosed {
                for dispatch in dispatches {
                    run(dispatch, on: connection, now: now)
                }
                dispatches = connection.state.process(now: now)
            }
            sendQueuedOutput(connection, now: now)
        } while !connection.isClosed && connection.state.canResumeParsing
        servicing = previous
        finishWriting(connection, now: now)
    }

    private func run(_ dispatch: ConnectionState.Dispatch, on connection: Connection, now: Int64) {
        let connectionID = connection.id
        let sequence = dispatch.sequence
        let acceptEncoding = dispatch.acceptEncoding
        let responder = Responder { [self] response in
            deliverCompressingLargeBody(connectionID: connectionID, sequence: sequence, response: response,
                                        acceptEncoding: acceptEncoding)
        }
        let handler = dispatch.route.handler
        let request = dispatch.request
        switch dispatch.route.execution {
        case .inline:
            handler(request, responder)
        case .blocking:
            if let fastPath = dispatch.route.fastPath, let response = fastPath(request) {
                responder.send(response)
                return
            }
            let queued = shared.workers.submit { handler(request, responder) }
            if !queued {
                let retryAfter = String(shared.configuration.retryAfterSeconds)
                let response = HTTPResponse.error(503, "the server is busy: \(shared.configuration.workerQueueLimit) requests are already waiting; retry after \(retryAfter) seconds",
                                                  headers: HTTPFields([("Retry-After", retryAfter)]))
                connection.state.complete(sequence: sequence, with: response, now: now)
            }
        }
    }

    // MARK: - Writing and closing

    /// Writes what is queued. When that made room for requests that waited unparsed, they are
    /// parsed now: no later read event may come, because the client may have sent everything.
    private func writeOut(_ connection: Connection, now: Int64) {
        sendQueuedOutput(connection, now: now)
        if !connection.isClosed && connection.state.canResumeParsing && servicing != connection.id {
            service(connection, now: now)
        } else {
            finishWriting(connection, now: now)
        }
    }

    /// Sends queued output until the socket buffer is full; closes the connection on an error.
    private func sendQueuedOutput(_ connection: Connection, now: Int64) {
        guard !connection.isClosed else { return }
        while connection.state.hasPendingOutput {
            let offset = connection.state.outputOffset
            let written = connection.state.output.withUnsafeBytes { bytes in
                send(connection.fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                connection.state.wrote(written, now: now)
                continue
            }
            let code = errno
            if written < 0 && code == EINTR { continue }
            if written < 0 && (code == EAGAIN || code == EWOULDBLOCK) { break }
            if code != ECONNRESET && code != EPIPE {
                shared.logConnectionError("send failed", [("error", String(cString: strerror(code))), ("remote", connection.state.remoteAddress)])
            }
            closeNow(connection)
            return
        }
    }

    /// Closes a connection that has nothing left to do, else updates its epoll interest.
    private func finishWriting(_ connection: Connection, now: Int64) {
        guard !connection.isClosed else { return }
        if connection.state.isFinished {
            if connection.state.closesAfterError && !connection.state.readClosed {
                startLingering(connection, now: now)
            } else {
                closeNow(connection)
            }
            return
        }
        // EPOLLHUP and EPOLLERR are always reported. EPOLLRDHUP is asked for only with EPOLLIN:
        // it stays ready after a half-close, so once EOF is read it would spin the loop while a
        // handler is still working.
        var events: UInt32 = 0
        if connection.state.wantsRead { events |= cs_epoll_in | cs_epoll_rdhup }
        if connection.state.hasPendingOutput { events |= cs_epoll_out }
        updateInterest(connection, events)
    }

    private func updateInterest(_ connection: Connection, _ events: UInt32) {
        guard events != connection.registeredEvents else { return }
        connection.registeredEvents = events
        _ = cs_epoll_ctl(epollFD, EPOLL_CTL_MOD, connection.fd, events, connection.id)
    }

    /// Shuts down the write side and reads until EOF, for at most two seconds and 1 MiB.
    private func startLingering(_ connection: Connection, now: Int64) {
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.lingerDeadline = now + EventLoop.lingerMilliseconds
        updateInterest(connection, cs_epoll_in)
    }

    private func discardLingering(_ connection: Connection) {
        let count = recv(connection.fd, readBuffer.baseAddress, readBuffer.count, 0)
        if count > 0 {
            connection.lingerDiscarded += count
            if connection.lingerDiscarded > EventLoop.lingerMaxBytes { closeNow(connection) }
            return
        }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
        closeNow(connection)
    }

    /// Closes the socket. With `reset`, queued output is dropped and the peer gets a reset
    /// (SO_LINGER with a zero timeout), because a plain close would keep sending the queued
    /// bytes to a client that stopped reading.
    private func closeNow(_ connection: Connection, reset: Bool = false) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        connection.isClosed = true
        if reset {
            var option = linger(l_onoff: 1, l_linger: 0)
            setsockopt(connection.fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        }
        close(connection.fd)
        shared.openConnections.subtract(1, ordering: .relaxed)
    }
}
