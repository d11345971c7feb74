import Telemetry

/// The protocol logic of one connection, without sockets: bytes in, requests to dispatch and
/// response bytes out, in request order. The event loop makes the system calls. Tests drive
/// this struct directly with any split of the input and a fake clock (`now` is monotonic
/// milliseconds).
struct ConnectionState {
    /// A complete request for the event loop to hand to its route's handler. The handler's
    /// response comes back through `complete(sequence:with:now:)`.
    struct Dispatch {
        let route: Router.Route
        let request: HTTPRequest
        let sequence: Int
        /// The client's gzip preference, for a body the loop hands to a worker to compress.
        let acceptEncoding: AcceptEncoding.Choice
    }

    /// The outcome of a timer check.
    enum TimeoutOutcome: Equatable {
        case none
        /// Write what is queued (a 408 perhaps), then close.
        case closeAfterWriting
        /// Close now, without writing.
        case closeNow
    }

    /// One request awaiting or holding its response; responses leave in sequence order.
    private struct Slot {
        let sequence: Int
        let method: HTTPMethod
        let target: String
        var routePattern = "unmatched"
        let requestID: String
        let startNanoseconds: UInt64
        let keepAlive: Bool
        let acceptEncoding: AcceptEncoding.Choice
        var sendsContinue = false
        var response: HTTPResponse?
        /// Set when the rest of the input can no longer be trusted or read.
        var closesConnection = false
    }

    /// A request whose head was accepted and whose body is still being read.
    private struct PendingBody {
        let route: Router.Route
        var request: HTTPRequest
        let sequence: Int
        let gzipBody: Bool
    }

    /// Unconsumed input above which reading pauses while parsing waits for responses.
    static let inputHighWater = 65_536
    /// Queued output above which parsing pauses until the client reads.
    static let outputHighWater = 1_048_576

    let context: ConnectionContext
    let remoteAddress: String

    private var parser: RequestParser
    private var input: [UInt8] = []
    private var inputOffset = 0
    private(set) var output: [UInt8] = []
    private(set) var outputOffset = 0
    private var slots: [Slot] = []
    private var nextSequence = 0
    private var pendingBody: PendingBody?
    /// A request with an unsafe method that waits for the requests before it to be answered.
    private var heldDispatch: Dispatch?

    /// Whether the peer sent EOF.
    private(set) var readClosed = false
    /// Set once the connection will close after the queued output; no more requests are parsed.
    private(set) var closing = false
    private var shuttingDown = false

    private var messageStart: Int64?
    private var bodyStart: Int64?
    private var lastActivity: Int64
    private var lastWriteProgress: Int64

    init(context: ConnectionContext, remoteAddress: String, now: Int64) {
        self.context = context
        self.remoteAddress = remoteAddress
        parser = RequestParser(limits: context.limits)
        lastActivity = now
        lastWriteProgress = now
    }

    // MARK: - State for the event loop

    var hasPendingOutput: Bool { outputOffset < output.count }

    /// Whether the loop should read from the socket.
    var wantsRead: Bool {
        if readClosed || closing { return false }
        return input.count - inputOffset < ConnectionState.inputHighWater
    }

    /// Whether the connection has nothing left to do and can be closed.
    var isFinished: Bool {
        guard !hasPendingOutput else { return false }
        if closing { return slots.isEmpty }
        let idle = slots.isEmpty && pendingBody == nil
        if readClosed && idle && input.count == inputOffset { return true }
        return shuttingDown && idle && parser.isIdle && input.count == inputOffset
    }

    /// Whether input waits unparsed only for room in the pipeline or the output, so that
    /// `process(now:)` would parse more now. The loop checks it after writing.
    var canResumeParsing: Bool {
        !closing && inputOffset < input.count && parser.isIdle && pendingBody == nil && !isReadAheadPaused
    }

    /// Whether the connection closes after an error response. The loop then lingers, so the
    /// client can read the response before unread input makes the kernel send a reset.
    var closesAfterError: Bool { closing }

    // MARK: - Input

    /// Stores bytes read from the socket. Call `process(now:)` next.
    mutating func receive(_ bytes: UnsafeBufferPointer<UInt8>, now: Int64) {
        input.append(contentsOf: bytes)
        lastActivity = now
    }

    /// Records EOF from the peer. Requests already received still get their responses.
    mutating func receiveEOF() {
        readClosed = true
    }

    /// Parses the buffered input and returns the requests that are ready for their handlers.
    /// Requests this layer rejects itself get their error responses queued in `output`.
    mutating func process(now: Int64) -> [Dispatch] {
        var dispatches: [Dispatch] = []
        if let held = heldDispatch, !hasUnansweredRequest(before: held.sequence) {
            heldDispatch = nil
            dispatches.append(held)
        }
        parsing: while !closing {
            // Read-ahead pauses only between requests, so a request in progress always completes.
            if parser.isIdle && pendingBody == nil && isReadAheadPaused {
                // Requests this layer answered itself (404, a head filter's 401) free their slots
                // once their responses are queued, so parsing goes on without waiting for an event.
                flush(now: now)
                if closing || isReadAheadPaused { break }
            }
            let (consumed, event) = input.withUnsafeBufferPointer { buffer in
                parser.parse(UnsafeBufferPointer(rebasing: buffer[inputOffset...]))
            }
            inputOffset += consumed
            switch event {
            case .needMoreData:
                break parsing
            case .head(let head):
                bodyStart = now
                messageStart = nil
                acceptHead(head)
            case .body(let body):
                bodyStart = nil
                guard let dispatch = finishBody(body) else { continue parsing }
                if !ConnectionState.isSafe(dispatch.request.method) && hasUnansweredRequest(before: dispatch.sequence) {
                    heldDispatch = dispatch
                } else {
                    dispatches.append(dispatch)
                }
            case .failure(let error):
                reject(error)
            }
        }
        if readClosed && !closing && !parser.isIdle {
            reject(RequestError(400, "the client ended its side of the connection in the middle of a request; send complete requests"))
        }
        if parser.isIdle || parser.isReadingBody {
            messageStart = nil
        } else if messageStart == nil {
            messageStart = now
        }
        compactInput()
        flush(now: now)
        return dispatches
    }

    // MARK: - Responses

    /// Stores the response for request `sequence` and queues every response that is now next
    /// in order. A second response for the same request, or one for a request no longer
    /// pending, is ignored and returns false.
    @discardableResult
    mutating func complete(sequence: Int, with response: HTTPResponse, now: Int64) -> Bool {
        guard let index = slots.firstIndex(where: { $0.sequence == sequence }), slots[index].response == nil else {
            return false
        }
        slots[index].response = response
        flush(now: now)
        return true
    }

    /// Records that the loop wrote `count` bytes of `output`.
    mutating func wrote(_ count: Int, now: Int64) {
        outputOffset += count
        lastWriteProgress = now
        lastActivity = now
        if outputOffset == output.count {
            output.removeAll(keepingCapacity: output.capacity <= 65_536)
            outputOffset = 0
        }
    }

    // MARK: - Shutdown and timeouts

    /// Stops taking new requests: the request in progress is finished, and its response carries
    /// `Connection: close`. Returns whether the connection can be closed now.
    mutating func beginShutdown() -> Bool {
        shuttingDown = true
        if parser.isIdle && pendingBody == nil && slots.isEmpty {
            // Bytes of an unstarted request may sit in the buffer; they are dropped.
            input.removeAll()
            inputOffset = 0
        }
        return isFinished
    }

    /// Applies the header, body, keep-alive and write timeouts of the configuration.
    mutating func checkTimeouts(now: Int64) -> TimeoutOutcome {
        let configuration = context.configuration
        if hasPendingOutput && now - lastWriteProgress > milliseconds(configuration.writeTimeout) {
            return .closeNow
        }
        if closing { return .none }
        if let bodyStart, pendingBody != nil, now - bodyStart > milliseconds(configuration.bodyReadTimeout) {
            reject(RequestError(408, "the request body was not received within \(configuration.bodyReadTimeout) seconds; send the whole body promptly"))
            flush(now: now)
            return .closeAfterWriting
        }
        if let messageStart, !parser.isIdle, !parser.isReadingBody, now - messageStart > milliseconds(configuration.headerReadTimeout) {
            reject(RequestError(408, "the request head was not received within \(configuration.headerReadTimeout) seconds; send the request line and fields promptly"))
            flush(now: now)
            return .closeAfterWriting
        }
        let idle = slots.isEmpty && pendingBody == nil && parser.isIdle && !hasPendingOutput
        if idle && now - lastActivity > milliseconds(configuration.keepAliveTimeout) {
            return .closeNow
        }
        return .none
    }

    private func milliseconds(_ seconds: Double) -> Int64 { Int64(seconds * 1000) }

    // MARK: - Request handling

    private mutating func newSlot(for head: RequestHead) -> Int {
        let requestID: String
        if let sent = head.fields["X-Request-ID"], RequestIDGenerator.isValid(sent) {
            requestID = sent
        } else {
            requestID = context.requestIDs.next()
        }
        let slot = Slot(sequence: nextSequence, method: head.method, target: head.target, requestID: requestID,
                        startNanoseconds: TimeFormat.monotonicNanoseconds(), keepAlive: head.keepAlive,
                        acceptEncoding: AcceptEncoding.choose(head.fields.values("Accept-Encoding")))
        slots.append(slot)
        nextSequence += 1
        return slots.count - 1
    }

    /// Checks a complete head and either rejects it at once (before any body is read, so no
    /// `100 Continue` is sent) or waits for its body.
    private mutating func acceptHead(_ head: RequestHead) {
        let index = newSlot(for: head)
        switch checkHead(head, slotIndex: index) {
        case .failure(let rejection):
            slots[index].response = rejection.response
            // The unread body cannot be skipped safely, so the connection closes after a rejection
            // of a request with a body (RFC 9110 section 10.1.1 for Expect: 100-continue).
            if rejection.closesConnection || head.hasBody {
                slots[index].closesConnection = true
                closing = true
            }
        case .success(let pending):
            if head.expectation == .continue100 && head.hasBody {
                slots[index].sendsContinue = true
            }
            pendingBody = pending
        }
    }

    private struct Rejection: Error {
        let response: HTTPResponse
        let closesConnection: Bool
    }

    private mutating func checkHead(_ head: RequestHead, slotIndex: Int) -> Result<PendingBody, Rejection> {
        func fail(_ status: Int, _ message: String, headers: HTTPFields = HTTPFields(), closes: Bool = false) -> Result<PendingBody, Rejection> {
            .failure(Rejection(response: .error(status, message, headers: headers), closesConnection: closes))
        }
        let router = context.router

        if head.method == .connect {
            return fail(501, "CONNECT is not supported: this is an origin server, not a proxy; send requests to it directly", closes: true)
        }
        let target: RequestTarget
        switch RequestTarget.parse(head.target) {
        case .success(let parsed): target = parsed
        case .failure(let error): return fail(error.status, error.message, closes: error.closesConnection)
        }
        if case .unsupported(let value) = head.expectation {
            return fail(417, "Expect \(HTTPSyntax.quoted(value.utf8)) is not supported; send Expect: 100-continue or no Expect field")
        }

        var gzipBody = false
        let encodingValues = head.fields.values("Content-Encoding")
        let encodings = encodingValues.isEmpty ? [] : HTTPSyntax.listElements(encodingValues.joined(separator: ","))
            .map(HTTPSyntax.lowercased).filter { $0 != "identity" }
        if encodings == ["gzip"] || encodings == ["x-gzip"] {
            gzipBody = true
        } else if !encodings.isEmpty {
            return fail(415, "Content-Encoding \(encodings.joined(separator: ", ")) is not supported; send the body uncompressed or with Content-Encoding: gzip")
        }

        if target.form == .asterisk {
            guard head.method == .options else {
                return fail(400, "the request-target * is only valid with OPTIONS; send a path such as /api/v4.1/event")
            }
            var headers = HTTPFields()
            headers.append("Allow", (router.allMethods + [.options]).map(\.rawValue).joined(separator: ", "))
            return .failure(Rejection(response: HTTPResponse(status: 204, headers: headers), closesConnection: false))
        }

        switch router.match(head.method, segments: target.segments) {
        case .notFound:
            return fail(404, "no route matches the path \(target.path); check the path against the API reference")
        case .methodNotAllowed(let allowed):
            var headers = HTTPFields()
            let allowText = (allowed + [.options]).map(\.rawValue).joined(separator: ", ")
            headers.append("Allow", allowText)
            if head.method == .options {
                return .failure(Rejection(response: HTTPResponse(status: 204, headers: headers), closesConnection: false))
            }
            return fail(405, "the method \(head.method) is not allowed on \(target.path); use one of \(allowText)", headers: headers)
        case .found(let route, let parameters):
            slots[slotIndex].routePattern = route.pattern
            let requestID = slots[slotIndex].requestID
            var request = HTTPRequest(method: head.method, target: head.target, path: target.path, query: target.query,
                                      version: head.version, headers: head.fields, body: [], requestID: requestID,
                                      remoteAddress: remoteAddress, pathParameters: parameters,
                                      logger: context.logger)
            if let filter = router.headFilter, let response = filter(&request, route) {
                return .failure(Rejection(response: response, closesConnection: false))
            }
            return .success(PendingBody(route: route, request: request, sequence: slots[slotIndex].sequence, gzipBody: gzipBody))
        }
    }

    /// RFC 9112 section 9.3.2 allows pipelined requests to run in parallel only when their
    /// methods are safe (RFC 9110 section 9.2.1). A request with another method runs after every
    /// request before it is answered, and the requests after it wait until it is answered.
    static func isSafe(_ method: HTTPMethod) -> Bool {
        method == .get || method == .head || method == .options || method == .trace
    }

    /// Whether parsing of the next request waits: for a slot (`maxPipelinedRequests` requests
    /// are unanswered or not yet queued), for the client to read queued output, for an unsafe
    /// request's answer, or for shutdown.
    private var isReadAheadPaused: Bool {
        slots.count >= context.configuration.maxPipelinedRequests
            || output.count - outputOffset >= ConnectionState.outputHighWater
            || shuttingDown || hasUnansweredUnsafeRequest
    }

    private var hasUnansweredUnsafeRequest: Bool {
        slots.contains { $0.response == nil && !ConnectionState.isSafe($0.method) }
    }

    private func hasUnansweredRequest(before sequence: Int) -> Bool {
        slots.contains { $0.sequence < sequence && $0.response == nil }
    }

    private mutating func finishBody(_ body: [UInt8]) -> Dispatch? {
        guard var pending = pendingBody else { return nil }
        pendingBody = nil
        if pending.gzipBody {
            let limit = context.configuration.maxBodyBytes
            switch GzipCodec.decompress(body, limit: limit) {
            case .success(let decoded):
                pending.request.body = decoded
            case .failure(.tooLarge):
                answer(pending.sequence, .error(413, "the gzip body decodes to more than \(limit) bytes; send a smaller body"))
                return nil
            case .failure(.invalid(let reason)):
                answer(pending.sequence, .error(400, "the body is not valid gzip (\(reason)); compress it with gzip or drop Content-Encoding"))
                return nil
            }
        } else {
            pending.request.body = body
        }
        let acceptEncoding = slots.first { $0.sequence == pending.sequence }?.acceptEncoding ?? .identity
        return Dispatch(route: pending.route, request: pending.request, sequence: pending.sequence, acceptEncoding: acceptEncoding)
    }

    private mutating func answer(_ sequence: Int, _ response: HTTPResponse) {
        if let index = slots.firstIndex(where: { $0.sequence == sequence }) {
            slots[index].response = response
        }
    }

    /// Queues the error response of a framing error or timeout after those already pending,
    /// then the connection closes.
    private mutating func reject(_ error: RequestError) {
        let current = pendingBody?.sequence
        pendingBody = nil
        closing = true
        if let current, let index = slots.firstIndex(where: { $0.sequence == current }) {
            slots[index].response = error.response
            slots[index].closesConnection = true
            return
        }
        let slot = Slot(sequence: nextSequence, method: HTTPMethod("-"), target: "-", requestID: context.requestIDs.next(),
                        startNanoseconds: TimeFormat.monotonicNanoseconds(), keepAlive: false, acceptEncoding: .identity,
                        response: error.response, closesConnection: true)
        nextSequence += 1
        slots.append(slot)
    }

    private mutating func compactInput() {
        if inputOffset == input.count {
            input.removeAll(keepingCapacity: input.capacity <= 16_384)
            inputOffset = 0
        } else if inputOffset >= 16_384 {
            input.removeFirst(inputOffset)
            inputOffset = 0
        }
    }

    /// Moves ready responses from the front of the queue into `output`.
    private mutating func flush(now: Int64) {
        // The write timeout counts from when output starts waiting, not from an older write.
        if !hasPendingOutput { lastWriteProgress = now }
        while !slots.isEmpty {
            if slots[0].sendsContinue && slots[0].response == nil {
                output.append(contentsOf: ResponseEncoder.continueResponse)
                slots[0].sendsContinue = false
            }
            guard let response = slots[0].response else { return }
            let slot = slots.removeFirst()
            let isLast = slots.isEmpty && pendingBody == nil && parser.isIdle && input.count == inputOffset
            var keepAlive = slot.keepAlive && !slot.closesConnection && !(shuttingDown && isLast)
            // NOTE: a FIN that arrives after the last response is queued cannot change that
            // response, so it carries keep-alive and the close follows it.
            if readClosed && isLast { keepAlive = false }
            let summary = context.encoder.encode(response, method: slot.method, acceptEncoding: slot.acceptEncoding,
                                                 keepAlive: keepAlive, requestID: slot.requestID, into: &output)
            record(slot, status: response.status, summary: summary)
            if summary.closes {
                closing = true
                slots.removeAll()
                pendingBody = nil
                heldDispatch = nil
                return
            }
        }
    }

    private func record(_ slot: Slot, status: Int, summary: ResponseEncoder.Summary) {
        let seconds = Double(TimeFormat.monotonicNanoseconds() - slot.startNanoseconds) / 1e9
        context.metrics.record(route: slot.routePattern, method: slot.method, status: status, seconds: seconds)
        let logger = context.logger
        if !summary.droppedFields.isEmpty {
            logger.warning("dropped response fields with an invalid name or value", [
                ("requestId", slot.requestID), ("fields", summary.droppedFields.joined(separator: ","))])
        }
        let level = context.configuration.accessLogLevel
        guard logger.isEnabled(level) else { return }
        logger.log(level, "request", [
            // The query is left out: it can carry credentials (POST /oauth/token takes them there).
            ("requestId", slot.requestID), ("method", slot.method.rawValue), ("path", String(slot.target.prefix { $0 != "?" })),
            ("status", String(status)), ("bytes", String(summary.bodyBytes)),
            ("durationMs", String(Double(Int(seconds * 100_000)) / 100)), ("remote", remoteAddress)])
    }
}
