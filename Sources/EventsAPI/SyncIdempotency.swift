import EventStore
import HTTP
import JSON
import Synchronization
import Telemetry
import Workflow

/// The `Idempotency-Key` of one `POST /event/sync` request, in the `idempotency_keys` table
/// that `/event/async` uses too.
///
/// The first request stores its event and the key in one transaction, with the key marked as
/// running that event. The final response replaces the mark once the execution committed. A
/// retry with the same key and body never stores an event: it replays the final response, or
/// waits for the running event's outcome. The request hash covers the endpoint as well, so a
/// key used on `/event/async` and then on `/event/sync` (or the reverse) gets 409.
struct SyncIdempotency: Sendable {
    /// `response_status` of a key whose event has not finished; it is never an HTTP status.
    static let runningStatus = 0

    let store: EventStore
    let username: String
    let key: String
    let requestHash: [UInt8]
    /// Epoch milliseconds of the first request: the 24-hour window starts there.
    var createdOn: Int64

    private static let lastPurge = Atomic<Int64>(0)

    init(store: EventStore, username: String, key: String, requestHash: [UInt8], now: Int64) {
        self.store = store
        self.username = username
        self.key = key
        self.requestHash = requestHash
        self.createdOn = now
    }

    /// Returns a copy whose stored responses keep the first request's time.
    func with(createdOn: Int64) -> SyncIdempotency {
        var copy = self
        copy.createdOn = createdOn
        return copy
    }

    /// Hashes the endpoint with the canonical body, so sync and async requests never match.
    static func requestHash(canonicalBody: [UInt8]) -> [UInt8] {
        Crypto.sha256(Array("POST /event/sync\n".utf8) + canonicalBody)
    }

    enum Start: Sendable {
        /// The event and the running mark were committed: execute the event.
        case stored
        /// A request with this key already stored `eventId`, which has not finished yet.
        case running(eventId: String, createdOn: Int64)
        /// The final response of the first request.
        case replayed(status: Int, body: [UInt8])
        /// The key was used with another body (or on `/event/async`) in the window.
        case conflict
        case failed(any Error)
    }

    /// Looks the key up and, when it is new, stores `event` PENDING with the running mark, in one
    /// writer transaction, so two concurrent requests with one key store one event.
    func begin(_ event: Event, completion: @escaping @Sendable (Start) -> Void) {
        let purgeBefore = purgeCutoff()
        let entry = IdempotencyRecords.Entry(username: username, key: key, requestHash: requestHash,
                                             responseStatus: Self.runningStatus, responseBody: EventRoutes.acceptedBody(event),
                                             createdOn: createdOn)
        let notBefore = createdOn - EventRoutes.idempotencyWindowMilliseconds
        let (username, key, requestHash) = (self.username, self.key, self.requestHash)

        store.writer.submit({ connection -> Start in
            if let purgeBefore {
                try IdempotencyRecords.deleteOlder(than: purgeBefore, on: connection)
            }
            if let found = try IdempotencyRecords.find(username: username, key: key, notBefore: notBefore, on: connection) {
                guard found.requestHash == requestHash else { return .conflict }
                guard found.responseStatus == Self.runningStatus else {
                    return .replayed(status: found.responseStatus, body: found.responseBody)
                }
                let eventId = (try? JSONParser().parse(found.responseBody))?["eventId"]?.stringValue ?? ""
                return .running(eventId: eventId, createdOn: found.createdOn)
            }
            try EventRecords.insert(event, on: connection)
            try IdempotencyRecords.save(entry, on: connection)
            return .stored
        }, completion: { result in
            switch result {
            case .success(let start): completion(start)
            case .failure(let error): completion(.failed(error))
            }
        })
    }

    /// Responds to the request with `result`. A processed result is first stored as the key's
    /// final response, so a retry that arrives after this response replays it. A timeout keeps
    /// the running mark, so a later retry waits for the same event again.
    func finish(_ result: SyncExecutionResult, replayed: Bool, request: HTTPRequest, log: Logger, responder: Responder,
                timeout: Int, eventId: String) {
        guard case .processed(let report) = result else {
            SyncRoutes.respond(result, eventId: eventId, timeout: timeout, request: request, log: log, responder: responder)
            return
        }

        let (status, body) = SyncRoutes.responseBody(report)
        let entry = IdempotencyRecords.Entry(username: username, key: key, requestHash: requestHash, responseStatus: status,
                                             responseBody: body, createdOn: createdOn)
        store.writer.submit({ connection in
            try IdempotencyRecords.save(entry, on: connection)
        }, completion: { saved in
            if case .failure(let error) = saved {
                // The event's status is committed: a retry finds it through the running mark.
                log.error("failed to store the final response of an Idempotency-Key", [
                    ("eventId", report.eventId), ("idempotencyKey", entry.key), ("error", "\(error)"),
                ])
            }
            var headers = EventRoutes.locationHeaders(eventID: report.eventId)
            if replayed {
                headers.append("Idempotent-Replayed", "true")
            }
            responder.send(.json(status, bytes: body, headers: headers))
        })
    }

    /// Returns a stored final response with `Idempotent-Replayed: true`.
    static func replay(status: Int, body: [UInt8]) -> HTTPResponse {
        var headers = HTTPFields([("Idempotent-Replayed", "true")])
        if let eventID = (try? JSONParser().parse(body))?["eventId"]?.stringValue {
            headers.append("Location", EventRoutes.basePath + "/" + eventID)
        }
        return .json(status, bytes: body, headers: headers)
    }

    /// Returns the cutoff for deleting expired keys at most once a minute, else nil, so a server
    /// that only receives sync requests still purges them.
    private func purgeCutoff() -> Int64? {
        let last = Self.lastPurge.load(ordering: .relaxed)
        guard createdOn - last >= 60_000 else { return nil }
        guard Self.lastPurge.compareExchange(expected: last, desired: createdOn, ordering: .relaxed).exchanged else { return nil }
        return createdOn - EventRoutes.idempotencyWindowMilliseconds
    }
}
