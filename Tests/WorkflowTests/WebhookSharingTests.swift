import EventStore
import Foundation
import Glibc
import JSON
import Testing
import TestSupport
@testable import Workflow

/// A receiver on 127.0.0.1 that reads each request and never responds to the first
/// `hangingRequests` of them. It keeps their connections open until `close`, and later
/// requests get 200.
final class HangingReceiver: @unchecked Sendable {
    let port: Int
    private let socket: Int32
    private let hangingRequests: Int
    private let condition = NSCondition()
    private var heads: [String] = []
    private var openClients: [Int32] = []
    private var closed = false
    private let served = DispatchSemaphore(value: 0)

    init(hangingRequests: Int = .max) throws {
        self.hangingRequests = hangingRequests
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.socket = socket
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socket, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socket, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// Stops accepting, closes the held connections, then the listening socket, once the
    /// accept thread has returned (see `WebhookReceiver.close`: a descriptor closed while it may
    /// still call `accept` can be another test's listener by then).
    func close() {
        condition.lock()
        let wasClosed = closed
        closed = true
        condition.unlock()
        guard !wasClosed else { return }
        shutdown(socket, Int32(SHUT_RDWR))
        served.wait()
        Glibc.close(socket)
        condition.lock()
        let clients = openClients
        openClients = []
        condition.unlock()
        for client in clients {
            Glibc.close(client)
        }
    }

    /// Waits until `count` request heads arrived or the deadline passed; returns them.
    func waitForRequests(_ count: Int, seconds: Double = 10) -> [String] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(seconds)
        while heads.count < count && condition.wait(until: deadline) {}
        return heads
    }

    private func serve() {
        defer { served.signal() }
        while true {
            let client = accept(socket, nil, nil)
            guard client >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let thread = Thread { [self] in handle(client) }
            thread.start()
        }
    }

    private func handle(_ client: Int32) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while String(decoding: received, as: UTF8.self).range(of: "\r\n\r\n") == nil {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else {
                Glibc.close(client)
                return
            }
            received.append(contentsOf: buffer[0..<count])
        }
        condition.lock()
        heads.append(String(decoding: received, as: UTF8.self))
        let hang = heads.count <= hangingRequests
        if hang { openClients.append(client) }
        condition.broadcast()
        condition.unlock()
        guard !hang else { return }

        let response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        Glibc.close(client)
    }
}

/// Webhook slots shared between receivers, and shutdown with attempts in flight.
@Suite struct WebhookSharingTests {
    /// `close` returns while a client is still sending its request: it shuts that client
    /// down instead of waiting for it.
    @Test func receiverClosesWhileAClientStalls() throws {
        let receiver = try WebhookReceiver(statuses: [200])
        let client = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(client) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(receiver.port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let partial = "POST /hook HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345"
        _ = partial.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        usleep(200_000)

        let closed = DispatchSemaphore(value: 0)
        Thread { receiver.close(); closed.signal() }.start()

        #expect(closed.wait(timeout: .now() + 5) == .success, "close() was still waiting 5 s later")
    }

    static func workflow(hangingURL: String, healthyURL: String) throws -> WorkflowDefinition {
        try WorkflowFixtures.workflow("""
            {"retailerId": "1", "version": "1", "name": "HOOK::T", "entityType": "HOOK", "entitySubtype": "T",
             "statuses": [{"name": "CREATED", "entityType": "HOOK"}],
             "rulesets": [
               {"name": "HookHang", "type": "HOOK", "rules": [
                 {"name": "ACME.core.SendWebhook", "props": {"name": "hang", "url": "\(hangingURL)"}}]},
               {"name": "HookOK", "type": "HOOK", "rules": [
                 {"name": "ACME.core.SendWebhook", "props": {"name": "ok", "url": "\(healthyURL)"}}]}]}
            """)
    }

    @Test func hangingReceiverLeavesSlotsFree() throws {
        let hanging = try HangingReceiver()
        defer { hanging.close() }
        let healthy = try WebhookReceiver(statuses: [200])
        defer { healthy.close() }
        let workflow = try Self.workflow(hangingURL: "http://127.0.0.1:\(hanging.port)/hang",
                                         healthyURL: "http://127.0.0.1:\(healthy.port)/ok")
        let harness = try EngineHarness(workflows: [workflow]) {
            $0.webhooks.concurrentDeliveries = 4
            $0.webhooks.concurrentDeliveriesPerReceiver = 2
            $0.webhooks.requestTimeoutMilliseconds = 20_000
            $0.webhooks.shutdownGraceMilliseconds = 0
        }
        defer { harness.close() }

        let hangingEvents = (0..<6).map { WorkflowFixtures.event("HookHang", type: "HOOK", ref: "H-\($0)", subtype: "T") }
        try harness.post(hangingEvents)
        #expect(try harness.waitUntilProcessed(hangingEvents.map(\.id)))
        #expect(hanging.waitForRequests(2).count == 2)

        // The hanging receiver keeps 2 of the 4 slots busy for 20 s, so the healthy one gets another.
        let healthyEvent = WorkflowFixtures.event("HookOK", type: "HOOK", ref: "OK-1", subtype: "T")
        try harness.post(healthyEvent)
        #expect(healthy.waitForRequests(1, seconds: 10).count == 1)
        #expect(hanging.waitForRequests(3, seconds: 0.2).count == 2)
    }

    @Test func stopAbandonsHangingAttempt() throws {
        let hanging = try HangingReceiver(hangingRequests: 1)
        defer { hanging.close() }
        let workflow = try Self.workflow(hangingURL: "http://127.0.0.1:\(hanging.port)/hang", healthyURL: "http://127.0.0.1:1/unused")
        let configure: (inout WorkflowEngineConfiguration) -> Void = {
            $0.webhooks.requestTimeoutMilliseconds = 30_000
            $0.webhooks.shutdownGraceMilliseconds = 100
        }
        let harness = try EngineHarness(workflows: [workflow], configure: configure)

        let event = WorkflowFixtures.event("HookHang", type: "HOOK", ref: "H-1", subtype: "T")
        try harness.post(event)
        #expect(hanging.waitForRequests(1).count == 1)

        // Stopping does not wait out the 30 s request timeout.
        let started = Date()
        harness.close()
        #expect(Date().timeIntervalSince(started) < 10)

        // The abandoned attempt was not recorded, so the restarted engine sends it again.
        let restarted = try EngineHarness(directory: harness.directory, workflows: [workflow], configure: configure)
        defer { restarted.close() }
        let heads = hanging.waitForRequests(2)
        #expect(heads.count == 2)
        let webhookIds = heads.compactMap { head in
            head.split(separator: "\r\n").first { $0.hasPrefix("X-Webhook-Id:") }.map(String.init)
        }
        #expect(webhookIds.count == 2)
        #expect(Set(webhookIds).count == 1)
        #expect(heads.allSatisfy { $0.contains("X-Webhook-Attempt: 1") })

        let deadline = Date().addingTimeInterval(10)
        var state: OutboxWebhook.State?
        while Date() < deadline {
            state = try restarted.store.read { try OutboxRecords.fetchAll(eventId: event.id, on: $0) }.first?.state
            if state == .delivered { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(state == .delivered)
    }
}
