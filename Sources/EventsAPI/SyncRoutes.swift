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
        do {
            let user = try authenticator.authenticate(request).get()
            let input = try EventInput.parse(request.body)
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
        engine.execute(event, timeoutMilliseconds: timeout) { result in
            switch result {
            case .processed(let report):
                responder.send(SyncRoutes.response(report))
            case .timedOut:
                log.warning("sync event not processed in time", [("eventId", event.id), ("timeoutMs", String(timeout))])
                let message = "event \(event.id) was stored but not processed within \(timeout) ms; it stays PENDING and runs later: GET \(EventRoutes.basePath)/\(event.id) shows its status"
                responder.send(APIError(504, message, headers: HTTPFields([("Location", EventRoutes.basePath + "/" + event.id)])).response)
            case .rejected(let reason):
                log.error("cannot store a sync event", [("eventId", event.id), ("error", reason)])
                responder.send(APIError.internalError(requestID: request.requestID).response)
            }
        }
    }

    /// Returns 200 for COMPLETE, 400 for FAILED and NO_MATCH, with the fields of Fluent's sync response.
    static func response(_ report: ExecutionReport) -> HTTPResponse {
        var body = JSONObject()
        body["eventId"] = .string(report.eventId)
        body["entityId"] = report.entityId.map { .string($0) } ?? .null
        body["eventStatus"] = .string(report.status)
        if report.status != EventStatus.complete, let message = report.errorMessage {
            body["errorMessage"] = .string(message)
        }
        let status = report.status == EventStatus.complete ? 200 : 400
        return .json(status, .object(body), headers: HTTPFields([("Location", EventRoutes.basePath + "/" + report.eventId)]))
    }
}
