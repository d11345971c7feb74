import EventStore
import HTTP
import JSON
import Synchronization
import Telemetry

/// The Events API: `POST /api/v4.1/event/async`, `GET /api/v4.1/event/{eventId}` and
/// `GET /api/v4.1/event`.
///
/// A POST is parsed on the event-loop thread and handed to the database writer. The response is
/// sent from the writer's completion once the event is durable, so no worker thread waits on a
/// commit. GETs read on the server's worker pool.
public struct EventRoutes: Sendable {
    public static let basePath = "/api/v4.1/event"
    /// How long an `Idempotency-Key` is remembered, in milliseconds.
    public static let idempotencyWindowMilliseconds: Int64 = 24 * 3_600_000
    /// The longest accepted `Idempotency-Key`, in bytes.
    public static let maximumIdempotencyKeyLength = 255
    /// The default byte limit of the events in one `GET /event` page: 4 MiB of result JSON.
    public static let defaultPageByteLimit = 4 << 20
    /// The default number of `GET /event` pages built at once; more get 503.
    public static let defaultConcurrentListLimit = 8

    private let store: EventStore
    private let authenticator: Authenticator
    private let listener: (any EventSubmissionListener)?
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    private let lastIdempotencyPurge = PurgeClock()
    private let pageByteLimit: Int
    private let listBuilds: ConcurrencyLimit
    private let finalEvents = FinalEventCache()

    /// - Parameters:
    ///   - pageByteLimit: the bytes of event JSON after which a `GET /event` page ends early;
    ///     a page always contains at least one event.
    ///   - listBuilds: the slots for `GET /event` pages being built; a request that finds none
    ///     free gets 503. With the defaults, pages in memory stay near 8 x 4 MiB, plus one event
    ///     each, and the encoded response doubles that for a moment.
    public init(store: EventStore, authenticator: Authenticator, listener: (any EventSubmissionListener)? = nil,
                logger: Logger = Logger(label: "events"), clock: @escaping @Sendable () -> Int64 = { TimeFormat.nowMilliseconds() },
                pageByteLimit: Int = EventRoutes.defaultPageByteLimit,
                listBuilds: ConcurrencyLimit = ConcurrencyLimit(limit: EventRoutes.defaultConcurrentListLimit)) {
        precondition(pageByteLimit >= 1, "pageByteLimit must be at least 1, got \(pageByteLimit)")
        self.store = store
        self.authenticator = authenticator
        self.listener = listener
        self.logger = logger
        self.clock = clock
        self.pageByteLimit = pageByteLimit
        self.listBuilds = listBuilds
    }

    public func register(into router: inout Router) {
        router.add(.post, EventRoutes.basePath + "/async", execution: .inline) { request, responder in
            postAsync(request, responder)
        }
        // Events in a final status are answered from memory on the event loop; the rest read
        // SQLite on the worker pool.
        router.add(.get, EventRoutes.basePath + "/{eventId}", execution: .blocking, fastPath: { request in
            cachedEvent(request)
        }) { request, responder in
            getEvent(request, responder)
        }
        router.add(.get, EventRoutes.basePath, execution: .blocking) { request, responder in
            listEvents(request, responder)
        }
    }

    // MARK: - POST /event/async

    /// The outcome of the write, decided on the writer thread.
    private enum PostOutcome: Sendable {
        case stored(body: [UInt8])
        case replayed(status: Int, body: [UInt8])
        case conflict
    }

    private func postAsync(_ request: HTTPRequest, _ responder: Responder) {
        let user: AuthenticatedUser
        let event: Event
        let input: EventInput
        let idempotencyKey: String?
        let now = clock()
        do {
            user = try authenticator.authenticate(request).get()
            idempotencyKey = try EventRoutes.idempotencyKey(request)
            input = try EventInput.parse(request.body)
            event = try input.makeEvent(for: user, now: now)
        } catch {
            responder.send(error.response)
            return
        }

        // Encoded here, so the writer thread, which every request shares, spends no time on JSON.
        let encoded: EncodedEvent
        do {
            encoded = try EncodedEvent(event)
        } catch {
            responder.send(APIError(500, "the event could not be encoded for storage: \(error)").response)
            return
        }
        let body = EventRoutes.acceptedBody(event)
        // Only a request with an Idempotency-Key stores or compares the hash of its body.
        let requestHash = idempotencyKey == nil ? [] : Crypto.sha256(input.canonicalBody)
        let purgeBefore = purgeCutoff(now: now)
        let log = logger.with("requestId", request.requestID)

        store.writer.submit({ connection -> PostOutcome in
            if let purgeBefore {
                try IdempotencyRecords.deleteOlder(than: purgeBefore, on: connection)
            }
            if let idempotencyKey {
                let notBefore = now - EventRoutes.idempotencyWindowMilliseconds
                if let entry = try IdempotencyRecords.find(username: user.username, key: idempotencyKey, notBefore: notBefore, on: connection) {
                    guard entry.requestHash == requestHash else { return .conflict }
                    return .replayed(status: entry.responseStatus, body: entry.responseBody)
                }
            }
            try EventRecords.insert(encoded, on: connection)
            if let idempotencyKey {
                try IdempotencyRecords.save(IdempotencyRecords.Entry(
                    username: user.username, key: idempotencyKey, requestHash: requestHash, responseStatus: 200,
                    responseBody: body, createdOn: now), on: connection)
            }
            return .stored(body: body)
        }, completion: { result in
            switch result {
            case .success(.stored(let body)):
                log.debug("event accepted", [("eventId", event.id), ("name", event.name), ("entityRef", event.context.entityRef ?? "")])
                // The queue hears of the event before the client does, so a client that reads
                // the queue's state right after the 200 finds the event there.
                if event.type == EventType.orchestration {
                    listener?.eventsAccepted([event])
                }
                responder.send(.json(200, bytes: body, headers: EventRoutes.locationHeaders(eventID: event.id)))
            case .success(.replayed(let status, let body)):
                var headers = HTTPFields([("Idempotent-Replayed", "true")])
                if let eventID = (try? JSONParser().parse(body))?["eventId"]?.stringValue {
                    headers.append("Location", EventRoutes.basePath + "/" + eventID)
                }
                responder.send(.json(status, bytes: body, headers: headers))
            case .success(.conflict):
                responder.send(APIError(409, "Idempotency-Key \"\(idempotencyKey ?? "")\" was already used with a different body in the last 24 hours: send a new key for a new event, or the same body to repeat the first request").response)
            case .failure(let error):
                log.error("failed to store an event", [("eventId", event.id), ("error", "\(error)")])
                responder.send(APIError.internalError(requestID: request.requestID).response)
            }
        })
    }

    /// Encodes `{"eventId":…,"entityId":…,"eventStatus":…}`, the response to an accepted POST.
    static func acceptedBody(_ event: Event) -> [UInt8] {
        JSONWriter.encode([
            "eventId": .string(event.id),
            "entityId": event.context.entityId.map { .string($0) } ?? .null,
            "eventStatus": .string(event.eventStatus),
        ])
    }

    static func locationHeaders(eventID: String) -> HTTPFields {
        HTTPFields([("Location", basePath + "/" + eventID)])
    }

    /// Reads the `Idempotency-Key` field: at most one, of 1 to 255 visible ASCII characters.
    static func idempotencyKey(_ request: HTTPRequest) throws(APIError) -> String? {
        let values = request.headers.values("Idempotency-Key")
        guard let key = values.first else { return nil }
        guard values.count == 1 else {
            throw .badRequest("Idempotency-Key is given \(values.count) times: send it once")
        }
        guard !key.isEmpty, key.utf8.count <= maximumIdempotencyKeyLength,
              key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("Idempotency-Key must be 1 to \(maximumIdempotencyKeyLength) visible ASCII characters, such as a UUID")
        }
        return key
    }

    /// Returns the cutoff for deleting expired idempotency keys, at most once a minute, else nil.
    private func purgeCutoff(now: Int64) -> Int64? {
        let last = lastIdempotencyPurge.milliseconds.load(ordering: .relaxed)
        guard now - last >= 60_000 else { return nil }
        let claimed = lastIdempotencyPurge.milliseconds.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        guard claimed else { return nil }
        return now - EventRoutes.idempotencyWindowMilliseconds
    }

    // MARK: - GET /event/{eventId}

    /// Answers from the cache of final events, or returns nil so that `getEvent` runs.
    private func cachedEvent(_ request: HTTPRequest) -> HTTPResponse? {
        guard case .success(let user) = authenticator.authenticate(request),
              let eventID = request.pathParameters["eventId"], let cached = finalEvents.entry(for: eventID) else {
            return nil
        }
        guard user.canAccess(retailerId: cached.retailerId) else {
            return APIError.notFound("event \(eventID) not found").response
        }
        return .json(200, bytes: cached.json)
    }

    private func getEvent(_ request: HTTPRequest, _ responder: Responder) {
        let user: AuthenticatedUser
        switch authenticator.authenticate(request) {
        case .success(let authenticated): user = authenticated
        case .failure(let error):
            responder.send(error.response)
            return
        }
        let eventID = request.pathParameters["eventId"] ?? ""

        do {
            let found = try store.read { try EventRecords.fetchJSON(id: eventID, on: $0) }
            // Another retailer's event gets the same 404 as a missing one, so its existence stays hidden.
            guard let found, user.canAccess(retailerId: found.retailerId) else {
                responder.send(APIError.notFound("event \(eventID) not found").response)
                return
            }
            finalEvents.store(eventID: eventID, retailerId: found.retailerId, eventStatus: found.eventStatus, json: found.json)
            responder.send(.json(200, bytes: found.json))
        } catch {
            logger.error("failed to read an event", [("requestId", request.requestID), ("eventId", eventID), ("error", "\(error)")])
            responder.send(APIError.internalError(requestID: request.requestID).response)
        }
    }

    // MARK: - GET /event

    private func listEvents(_ request: HTTPRequest, _ responder: Responder) {
        let query: EventQuery
        do {
            let user = try authenticator.authenticate(request).get()
            query = try EventListParameters.parse(request.query, user: user, now: clock())
        } catch {
            responder.send(error.response)
            return
        }

        guard listBuilds.acquire() else {
            logger.warning("list rejected: too many pages being built", [("requestId", request.requestID), ("limit", String(listBuilds.limit))])
            let message = "too many event lists are being built at once (limit \(listBuilds.limit)): retry after 1 second"
            responder.send(APIError(503, message, headers: HTTPFields([("Retry-After", "1")])).response)
            return
        }
        // The slot is released once the page is built, before it is sent, so a client that has
        // its answer never finds its own request still holding a slot.
        let built = Result { () throws -> [UInt8] in
            let page = try store.read { try EventRecords.listJSON(query, maximumBytes: pageByteLimit, on: $0) }
            var body = [UInt8]()
            body.reserveCapacity(64 + page.results.reduce(0) { $0 + $1.count + 1 })
            body.append(contentsOf: #"{"start":\#(page.start),"count":\#(page.results.count),"hasMore":\#(page.hasMore),"results":["#.utf8)
            for (index, event) in page.results.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                body.append(contentsOf: event)
            }
            body.append(contentsOf: "]}".utf8)
            return body
        }
        listBuilds.release()

        switch built {
        case .success(let body):
            responder.send(.json(200, bytes: body))
        case .failure(let error):
            logger.error("failed to list events", [("requestId", request.requestID), ("error", "\(error)")])
            responder.send(APIError.internalError(requestID: request.requestID).response)
        }
    }
}

/// The time of the last purge of expired idempotency keys, shared by copies of `EventRoutes`.
private final class PurgeClock: Sendable {
    let milliseconds = Atomic<Int64>(0)
}
