import Dispatch
import EventStore
import Foundation
import JSON
import Telemetry

/// Delivers the webhooks of the outbox after their execution committed: a few at a time, each
/// attempt audited, failures retried with exponential back-off up to `maxAttempts`.
///
/// Delivery runs on its own threads, so a slow or failing receiver never holds up the queue,
/// and one receiver gets at most `concurrentDeliveriesPerReceiver` of the slots. Delivery is at
/// least once: an attempt is recorded only after it ended, so one cut short by a crash or by
/// `stop()` is made again after the next start, and the `X-Webhook-Id` header lets the
/// receiver deduplicate.
final class WebhookDispatcher: @unchecked Sendable {
    private let store: EventStore
    private let configuration: WebhookConfiguration
    private let logger: Logger
    private let condition = NSCondition()
    // Guarded by `condition`: the webhooks being delivered, by outbox id, with their receiver.
    private var inFlight: [Int64: String] = [:]
    private var wakeRequested = false
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let deliveryQueue = DispatchQueue(label: "webhook-delivery", attributes: .concurrent)
    private let retryLogLimiter = LogRateLimiter(limit: 20, intervalSeconds: 10)

    private let attempts = MetricsRegistry.shared.counter("workflow_webhook_attempts_total", help: "Webhook delivery attempts")
    private let failures = MetricsRegistry.shared.counter("workflow_webhook_failed_attempts_total", help: "Webhook attempts without a 2xx response")

    init(store: EventStore, configuration: WebhookConfiguration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "webhook-dispatcher"
        thread.start()
    }

    /// Stops taking webhooks and waits up to `shutdownGraceMilliseconds` for the attempts in
    /// progress. The ones still running are left to finish or fail on their own: their outbox
    /// rows stay PENDING, so they are made again after the next start.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()

        let deadline = Date().addingTimeInterval(Double(configuration.shutdownGraceMilliseconds) / 1000)
        condition.lock()
        while !inFlight.isEmpty && condition.wait(until: deadline) {}
        let abandoned = inFlight.keys.sorted()
        condition.unlock()
        if !abandoned.isEmpty {
            logger.warning("webhook attempts still in flight at shutdown; they stay PENDING and are sent again after the next start", [
                ("webhookIds", abandoned.map(String.init).joined(separator: ",")),
            ])
        }
    }

    /// Tells the dispatcher that new webhooks were committed.
    func wake() {
        condition.lock()
        wakeRequested = true
        condition.broadcast()
        condition.unlock()
    }

    // MARK: - Dispatch loop

    private func run() {
        while true {
            condition.lock()
            if stopping {
                condition.unlock()
                return
            }
            wakeRequested = false
            let capacity = configuration.concurrentDeliveries - inFlight.count
            let busy = inFlight
            condition.unlock()

            let now = TimeFormat.nowMilliseconds()
            var waitUntil = now + 60_000
            do {
                if capacity > 0 {
                    // Reads past the webhooks of a saturated receiver, so others due later still
                    // get the free slots.
                    // NOTE: with more than this many due webhooks of saturated receivers ahead
                    // of it, another receiver's webhook waits for one of their slots to free.
                    let limit = busy.count + configuration.concurrentDeliveries * 16
                    let due = try store.read { try OutboxRecords.fetchDue(now: now, limit: limit, on: $0) }
                    startDeliveries(due, capacity: capacity, busy: busy)
                }
                if let next = try store.read({ try OutboxRecords.nextAttemptTime(on: $0) }), next > now {
                    waitUntil = min(waitUntil, next)
                }
            } catch {
                logger.error("cannot read the webhook outbox; retrying in 1 s", [("error", "\(error)")])
                waitUntil = now + 1000
            }

            condition.lock()
            if !wakeRequested && !stopping {
                _ = condition.wait(until: Date(timeIntervalSince1970: Double(waitUntil) / 1000))
            }
            condition.unlock()
        }
    }

    /// Starts up to `capacity` of the `due` webhooks that are not in flight, at most
    /// `concurrentDeliveriesPerReceiver` per receiver counting those in flight.
    private func startDeliveries(_ due: [OutboxWebhook], capacity: Int, busy: [Int64: String]) {
        var perReceiver: [String: Int] = [:]
        for receiver in busy.values {
            perReceiver[receiver, default: 0] += 1
        }
        var started = 0
        for webhook in due where started < capacity && busy[webhook.id] == nil {
            let receiver = Self.receiver(of: webhook.url)
            guard perReceiver[receiver, default: 0] < max(configuration.concurrentDeliveriesPerReceiver, 1) else { continue }
            perReceiver[receiver, default: 0] += 1
            started += 1
            begin(webhook, receiver: receiver)
        }
    }

    /// Returns `host:port` of a webhook URL, or the URL itself when it does not parse (its
    /// attempt then fails at once and records why).
    static func receiver(of url: String) -> String {
        guard let parsed = try? WebhookURL(parsing: url) else { return url }
        return "\(parsed.host):\(parsed.port)"
    }

    private func begin(_ webhook: OutboxWebhook, receiver: String) {
        condition.lock()
        inFlight[webhook.id] = receiver
        condition.unlock()
        deliveryQueue.async { [self] in
            deliver(webhook)
        }
    }

    // MARK: - One attempt

    private func deliver(_ webhook: OutboxWebhook) {
        let attempt = webhook.attempts + 1
        let started = TimeFormat.nowMilliseconds()
        var status: Int?
        var failure: String?
        do {
            let url = try WebhookURL(parsing: webhook.url)
            status = try WebhookClient.post(url, body: webhook.payload, headers: [
                ("X-Webhook-Name", webhook.webhookName), ("X-Webhook-Id", String(webhook.id)),
                ("X-Webhook-Attempt", String(attempt)), ("X-Event-Id", webhook.eventId),
            ], connectTimeoutMilliseconds: configuration.connectTimeoutMilliseconds,
               requestTimeoutMilliseconds: configuration.requestTimeoutMilliseconds)
        } catch let error as WebhookURLError {
            failure = error.message
        } catch let error as WebhookDeliveryError {
            failure = error.message
        } catch {
            failure = "\(error)"
        }
        let finishedAt = TimeFormat.nowMilliseconds()
        attempts.increment()

        let delivered = status.map { (200..<300).contains($0) } ?? false
        if !delivered {
            failures.increment()
            failure = failure ?? "the receiver answered HTTP \(status ?? 0)"
        }
        let state: OutboxWebhook.State = delivered ? .delivered : (attempt >= configuration.maxAttempts ? .failed : .pending)
        let nextAttempt = state == .pending ? finishedAt + configuration.backoff(afterAttempt: attempt) : finishedAt
        let audit = attemptAudit(webhook, attempt: attempt, state: state, status: status, failure: failure,
                                 nextAttempt: nextAttempt, duration: finishedAt - started, at: finishedAt)
        logAttempt(webhook, attempt: attempt, state: state, status: status, failure: failure)

        let lastError = delivered ? nil : failure
        store.writer.submit({ connection in
            try OutboxRecords.recordAttempt(id: webhook.id, state: state, attempts: attempt, nextAttemptOn: nextAttempt,
                                            lastError: lastError, now: finishedAt, on: connection)
            try EventRecords.insert(audit, on: connection)
        }, completion: { [self] result in
            if case .failure(let error) = result {
                logger.error("cannot record a webhook attempt; it will be retried", [
                    ("webhookId", String(webhook.id)), ("error", "\(error)"),
                ])
            }
            condition.lock()
            inFlight[webhook.id] = nil
            wakeRequested = true
            condition.broadcast()
            condition.unlock()
        })
    }

    private func attemptAudit(_ webhook: OutboxWebhook, attempt: Int, state: OutboxWebhook.State, status: Int?, failure: String?,
                              nextAttempt: Int64, duration: Int64, at time: Int64) -> Event {
        var attributes: [(String, JSONValue)] = [
            ("webhookId", .integer(webhook.id)), ("webhookName", .string(webhook.webhookName)), ("url", .string(webhook.url)),
            ("attempt", .integer(Int64(attempt))), ("maxAttempts", .integer(Int64(configuration.maxAttempts))),
            ("outcome", .string(state.rawValue)), ("durationMs", .integer(duration)),
        ]
        if let status { attributes.append(("httpStatus", .integer(Int64(status)))) }
        if let failure, state != .delivered { attributes.append(("error", .string(failure))) }
        if state == .pending { attributes.append(("nextAttemptOn", .integer(nextAttempt))) }
        return Event(id: EventID.make(), name: "WebhookAttempt", type: EventType.orchestrationAudit, accountId: webhook.accountId,
                     retailerId: webhook.retailerId, category: AuditCategory.action, context: webhook.context,
                     eventStatus: state == .delivered ? EventStatus.success : EventStatus.failed,
                     attributes: AuditWriter.attributeList(attributes), generatedBy: AuditWriter.generatedBy, generatedOn: time)
    }

    private func logAttempt(_ webhook: OutboxWebhook, attempt: Int, state: OutboxWebhook.State, status: Int?, failure: String?) {
        let fields: [(String, String)] = [
            ("webhookId", String(webhook.id)), ("webhook", webhook.webhookName), ("eventId", webhook.eventId),
            ("attempt", String(attempt)), ("httpStatus", status.map(String.init) ?? "none"), ("error", failure ?? ""),
        ]
        switch state {
        case .delivered:
            logger.debug("webhook delivered", fields)
        case .pending:
            // A receiver that is down fails every webhook: log at most 20 of these per 10 s.
            if let dropped = retryLogLimiter.admit() {
                logger.warning("webhook attempt failed; retrying later", fields + [("notLoggedSinceLastLine", String(dropped))])
            }
        case .failed:
            logger.error("webhook failed after its last attempt", fields)
        }
    }
}
