import EventStore
import HTTP
import JSON
import Telemetry
import Workflow

/// `POST /api/v4.1/event/sync`: stores an ORCHESTRATION event and responds once the workflow
/// engine has executed it, behind the queued events of the same root.
///
/// Responds 200 `{"eventId","entityId","eventStatus":"COMPLETE"}`; 400 with the same fields
/// for FAILED (plus `errorMessage`) and NO_MATCH; 504 when the time limit passes first, in
/// which case the event stays PENDING and runs later like an `/event/async` one.
///
/// With an `Idempotency-Key`, the event and the key are stored in one transaction, and the key
/// first records the event as running. A retry with the same key and body stores nothing:
/// it waits for that event's outcome (or replays it once known), so the event runs once.
public struct SyncRoutes: Sendable {
    public static let path = EventRoutes.basePath + "/sync"

    private let engine: WorkflowEngine
    private let authenticator: Authenticator
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    private let timeoutMilliseconds: Int?

    /// `timeoutMilliseconds` nil uses the engine's `syncTimeoutMilliseconds`.
    public init(engine: WorkflowEngine, authenticator: Authenticator, timeoutMilliseconds: Int? = nil,
                logger: Logger = Logger(label: "sync"), clock: @escaping @Sendable () -> Int64 = { TimeFormat.nowMilliseconds() }) {
        self.engine = engine
        self.authenticator = authenticator
        self.timeoutMilliseconds = timeoutMilliseconds
        self.logger = logger
        self.clock = clock
    }

    public func register(into router: inout Router) {
        router.add(.post, SyncRoutes.path, execution: .inline) { request, responder in
            postSync(request, responder)
        }
    }

    private func postSync(_ request: HTTPRequest, _ responder: Responder) {
        let event: Event
        let user: AuthenticatedUser
        let input: EventInput
        let idempotencyKey: String?
        do {
            user = try authenticator.authenticate(request).get()
            idempotencyKey = try EventRoutes.idempotencyKey(request)
            input = try EventInput.parse(request.body)
            event = try input.makeEvent(for: user, now: clock())
        } catch {
            responder.send(error.response)
            return
        }
        guard event.type == EventType.orchestration else {
            responder.send(APIError.badRequest("$.type: /event/sync executes ORCHESTRATION events only, got \(event.type); post API and GENERAL events to /event/async").response)
            return
        }
        guard event.eventStatus == EventStatus.pending else {
            responder.send(APIError.badRequest("$.scheduledOn: an event scheduled for later cannot be executed now; post it to /event/async").response)
            return
        }

        let log = logger.with("requestId", request.requestID)
        let timeout = timeoutMilliseconds ?? engine.configuration.syncTimeoutMilliseconds
        guard let idempotencyKey else {
            engine.execute(event, timeoutMilliseconds: timeout) { result in
                SyncRoutes.respond(result, eventId: event.id, timeout: timeout, request: request, log: log, responder: responder)
            }
            return
        }

        let key = SyncIdempotency(store: engine.store, username: user.username, key: idempotencyKey,
                                  requestHash: SyncIdempotency.requestHash(canonicalBody: input.canonicalBody), now: clock())
        key.begin(event) { start in
            switch start {
            case .stored:
                engine.executeStored(event, timeoutMilliseconds: timeout) { result in
                    key.finish(result, replayed: false, request: request, log: log, responder: responder, timeout: timeout, eventId: event.id)
                }
            case .running(let eventId, let createdOn):
                log.info("sync retry waits for the event of its Idempotency-Key", [("eventId", eventId), ("idempotencyKey", idempotencyKey)])
                engine.awaitOutcome(of: eventId, timeoutMilliseconds: timeout) { result in
                    key.with(createdOn: createdOn).finish(result, replayed: true, request: request, log: log, responder: responder,
                                                          timeout: timeout, eventId: eventId)
                }
            case .replayed(let status, let body):
                responder.send(SyncIdempotency.replay(status: status, body: body))
            case .conflict:
                responder.send(APIError(409, "Idempotency-Key \"\(idempotencyKey)\" was already used with a different body in the last 24 hours: send a new key for a new event, or the same body to repeat the first request").response)
            case .failed(let error):
                log.error("failed to store a sync event", [("eventId", event.id), ("error", "\(error)")])
                responder.send(APIError.internalError(requestID: request.requestID).response)
            }
        }
    }

    /// Sends the response for an execution result that is not stored under an idempotency key.
    static func respond(_ result: SyncExecutionResult, eventId: String, timeout: Int, request: HTTPRequest, log: Logger,
                        responder: Responder) {
        switch result {
        case .processed(let report):
            responder.send(SyncRoutes.response(report))
        case .timedOut:
            log.warning("sync event not processed in time", [("eventId", eventId), ("timeoutMs", String(timeout))])
            let message = "event \(eventId) was stored but not processed within \(timeout) ms; it stays PENDING and runs later: GET \(EventRoutes.basePath)/\(eventId) shows its status"
            responder.send(APIError(504, message, headers: HTTPFields([("Location", EventRoutes.basePath + "/" + eventId)])).response)
        case .rejected(let reason):
            log.error("failed to store or read a sync event", [("eventId", eventId), ("error", reason)])
            responder.send(APIError.internalError(requestID: request.requestID).response)
        }
    }

    /// Returns 200 for COMPLETE, 400 for FAILED and NO_MATCH, with the fields of Fluent's sync response.
    static func response(_ report: ExecutionReport) -> HTTPResponse {
        let (status, body) = responseBody(report)
        return .json(status, bytes: body, headers: HTTPFields([("Location", EventRoutes.basePath + "/" + report.eventId)]))
    }

    /// Returns the status and encoded body of `response(report)`.
    static func responseBody(_ report: ExecutionReport) -> (Int, [UInt8]) {
        var body = JSONObject()
        body["eventId"] = .string(report.eventId)
        body["entityId"] = report.entityId.map { .string($0) } ?? .null
        body["eventStatus"] = .string(report.status)
        if report.status != EventStatus.complete, let message = report.errorMessage {
            body["errorMessage"] = .string(message)
        }
        let status = report.status == EventStatus.complete ? 200 : 400
        return (status, JSONWriter.encode(.object(body)))
    }
}
