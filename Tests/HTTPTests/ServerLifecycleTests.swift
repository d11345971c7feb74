import Foundation
import Glibc
import Synchronization
import Testing
@testable import HTTP

/// Many connections, the connection and worker-queue limits, and graceful shutdown.
@Suite struct ServerLifecycleTests {
    @Test func thousandConcurrentConnections() throws {
        TestServer.raiseFileLimit()
        // Client and server sockets share this process, so each connection costs two descriptors.
        let count = min(1_000, (TestServer.fileLimit() - 200) / 2)
        #expect(count >= 400, "the descriptor limit \(TestServer.fileLimit()) is too low for this test")
        let server = try TestServer()
        defer { server.stop() }
        var clients: [RawClient] = []
        for _ in 0..<count {
            clients.append(try server.client())
        }
        for (index, client) in clients.enumerated() {
            client.send(request(["GET /items/\(index) HTTP/1.1", "Host: a"]))
        }
        var answered = 0
        var wrong: [String] = []
        for (index, client) in clients.enumerated() {
            let response = try client.readResponse(timeout: 10)
            if response?.bodyText == "{\"id\":\"\(index)\"}" {
                answered += 1
            } else if wrong.count < 5 {
                wrong.append("connection \(index): " + (response.map { "\($0.status) \($0.bodyText.prefix(200))" } ?? "no response in 10 s"))
            }
        }
        #expect(answered == count, "\(wrong)")
        // Every connection is still open and usable.
        for (index, client) in clients.enumerated() where index % 50 == 0 {
            client.send(request(["GET /hello HTTP/1.1", "Host: a"]))
            #expect(try client.readResponse()?.status == 200)
        }
    }

    @Test func maxConnectionsEnforced() throws {
        let server = try TestServer { $0.maxConnections = 5 }
        defer { server.stop() }
        var clients: [RawClient] = []
        for _ in 0..<5 {
            let client = try server.client()
            client.send(request(["GET /hello HTTP/1.1", "Host: a"]))
            #expect(try client.readResponse()?.status == 200)
            clients.append(client)
        }
        let extra = try server.client()
        let (responses, closed) = try extra.readAllResponses(timeout: 3)
        #expect(responses.map(\.status) == [503])
        #expect(responses.first?.headers["Retry-After"] == "1")
        #expect(closed)
        clients.removeLast()
        // Closing one frees its slot once the server has seen the close.
        var admitted = false
        for _ in 0..<50 where !admitted {
            let client = try server.client()
            client.send(request(["GET /hello HTTP/1.1", "Host: a"]))
            admitted = try client.readResponse()?.status == 200
            if !admitted { usleep(20_000) }
        }
        #expect(admitted)
    }

    @Test func fullWorkerQueueAnswers503() throws {
        let server = try TestServer {
            $0.workerThreadCount = 1
            $0.workerQueueLimit = 1
            $0.retryAfterSeconds = 2
        }
        defer { server.stop() }
        let running = try server.client()
        running.send(request(["GET /block HTTP/1.1", "Host: a"]))
        // The worker must hold the first request before the second arrives; otherwise the
        // second finds the first still queued and gets the 503 itself.
        #expect(server.waitForBlocked(1))
        let queued = try server.client()
        queued.send(request(["GET /block HTTP/1.1", "Host: a"]))
        // Wait until one request runs and one waits, however slow the machine is.
        var queueFull = false
        for _ in 0..<500 where !queueFull {
            queueFull = server.metrics.render().contains("http_worker_queue_length 1\n")
            if !queueFull { usleep(10_000) }
        }
        #expect(queueFull)
        let rejected = try server.client()
        rejected.send(request(["GET /block HTTP/1.1", "Host: a"]))
        let busy = try #require(try rejected.readResponse())
        #expect(busy.status == 503)
        #expect(busy.headers["Retry-After"] == "2")
        #expect(!busy.closes)
        // Inline routes keep working while the pool is full.
        rejected.send(request(["GET /hello HTTP/1.1", "Host: a"]))
        #expect(try rejected.readResponse()?.status == 200)
        server.releaseBlocked()
        #expect(try running.readResponse()?.status == 200)
        #expect(try queued.readResponse()?.status == 200)
    }

    @Test func shutdownFinishesInFlightThenDrains() throws {
        let server = try TestServer { $0.shutdownDeadline = 5 }
        let events = Mutex<[String]>([])
        server.server.addDrainHook { events.withLock { $0.append("drained") } }

        let idle = try server.client()
        idle.send(request(["GET /hello HTTP/1.1", "Host: a"]))
        #expect(try idle.readResponse()?.status == 200)
        let busy = try server.client()
        busy.send(request(["GET /block HTTP/1.1", "Host: a"]))
        #expect(server.waitForBlocked(1))

        let stopper = Thread { server.server.shutdown() }
        stopper.start()
        #expect(idle.waitForClose(timeout: 2))
        #expect(events.withLock { $0 }.isEmpty)
        // Each loop closes its own listening socket when it handles the shutdown message.
        var refused = false
        for _ in 0..<100 where !refused {
            refused = (try? RawClient(port: server.port)) == nil
            if !refused { usleep(20_000) }
        }
        #expect(refused, "the listeners are closed")

        server.releaseBlocked()
        let response = try #require(try busy.readResponse())
        #expect(response.status == 200)
        #expect(response.closes)
        #expect(busy.waitForClose(timeout: 2))
        server.server.waitUntilStopped()
        #expect(events.withLock { $0 } == ["drained"])
    }

    @Test func shutdownDeadlineClosesStuckRequests() throws {
        let server = try TestServer { $0.shutdownDeadline = 0.5 }
        let drained = Mutex(false)
        server.server.addDrainHook { drained.withLock { $0 = true } }
        let busy = try server.client()
        busy.send(request(["GET /block HTTP/1.1", "Host: a"]))
        #expect(server.waitForBlocked(1))
        let start = RawClient.now()
        let stopper = Thread {
            server.server.shutdown()
        }
        stopper.start()
        #expect(busy.waitForClose(timeout: 3))
        #expect(RawClient.now() - start < 2)
        server.releaseBlocked()
        server.server.waitUntilStopped()
        #expect(drained.withLock { $0 })
    }

    @Test func startErrorsAreReported() throws {
        let first = try TestServer()
        defer { first.stop() }
        var configuration = HTTPServerConfiguration()
        configuration.port = 70_000
        #expect(throws: HTTPServerError.self) { try HTTPServer(configuration: configuration, router: Router()).start() }
        configuration.port = 0
        configuration.host = "no-such-host.invalid"
        #expect(throws: HTTPServerError.self) { try HTTPServer(configuration: configuration, router: Router()).start() }
        configuration.host = "127.0.0.1"
        configuration.handlesSignals = false
        let twice = HTTPServer(configuration: configuration, router: Router())
        _ = try twice.start()
        #expect(throws: HTTPServerError.self) { try twice.start() }
        twice.shutdown()
    }
}
