import Dispatch
import EventStore
import Foundation
import JSON
import Telemetry

/// Delivers the webhooks of the outbox after their execution committed: a few at a time, each
/// attempt audited, failures retried with exponential back-off up to `maxAttempts`.
///
/// Delivery runs on its own threads, so a slow or failing receiver never holds up the queue.
/// A webhook whose attempt was interrupted by a crash is retried at the next start, so a
/// receiver may see a webhook twice: the `X-Webhook-Id` header lets it deduplicate.
final class WebhookDispatcher: @unchecked Sendable {
    private let store: EventStore
    private let configuration: WebhookConfiguration
    private let logger: Logger
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var inFlight: Set<Int64> = []
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

    /// Stops taking webhooks and waits for the attempts in progress (at most the request timeout).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
        condition.lock()
        while !inFlight.isEmpty {
            condition.wait()
        }
        condition.unlock()
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
                    let due = try store.read { try OutboxRecords.fetchDue(now: now, limit: capacity + busy.count, on: $0) }
                    for webhook in due.filter({ !busy.contains($0.id) }).prefix(capacity) {
                        begin(webhook)
                    }
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

    private func begin(_ webhook: OutboxWebhook) {
        condition.lock()
        inFlight.insert(webhook.id)
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
            inFlight.remove(webhook.id)
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
