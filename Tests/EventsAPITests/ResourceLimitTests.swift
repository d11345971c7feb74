import Dispatch
import EventStore
@testable import EventsAPI
import Foundation
import HTTP
import JSON
import Testing

/// Bounds on memory and threads: bytes per `GET /event` page, pages built at once, and
/// credential checks that run apart from the worker threads of database reads.
@Suite struct ResourceLimitTests {
    static let wrongPasswordQuery = "/oauth/token?username=demo&password=wrong&client_id=demo&client_secret=demo&grant_type=password&scope=api"

    /// Stores `count` events of about 1,000 bytes of JSON each, one millisecond apart.
    static func seedLargeEvents(_ server: TestServer, count: Int) throws -> [String] {
        var events: [Event] = []
        for index in 0..<count {
            var event = EventListRoutesTests.event("Big", offset: Int64(index), entityRef: "O-\(index)", rootEntityRef: "O-\(index)")
            event.attributes = ["padding": .string(String(repeating: "x", count: 800))]
            events.append(event)
        }
        try EventListRoutesTests.seed(server, events)
        return events.map(\.id)
    }

    @Test func pageEndsAtByteLimit() throws {
        let server = try TestServer(pageByteLimit: 3_500)
        defer { server.remove() }
        let token = try server.token()
        let stored = try Self.seedLargeEvents(server, count: 10)

        let first = try server.request("GET", "/api/v4.1/event?name=Big&from=2026-12-01T00:00:00Z&count=100", token: token)
        #expect(first.status == 200)
        let body = try first.json()
        let results = try #require(body["results"]?.arrayValue)
        // Each event renders to roughly 1,100 bytes, so two or three fit in 3,500.
        #expect(results.count >= 2)
        #expect(results.count <= 3)
        #expect(first.body.count <= 3_500 + 100)
        #expect(body["count"] == .integer(Int64(results.count)))
        #expect(body["hasMore"] == true)

        // Paging on by the number returned yields every event exactly once.
        var seen: [String] = []
        var start = 0
        while true {
            let page = try server.request("GET", "/api/v4.1/event?name=Big&from=2026-12-01T00:00:00Z&count=100&start=\(start)", token: token)
            let json = try page.json()
            let ids = try EventListRoutesTests.ids(page)
            #expect(!ids.isEmpty)
            seen += ids
            start += ids.count
            if json["hasMore"] != true { break }
        }
        #expect(seen == stored.reversed())
    }

    @Test func pageHoldsOneEventOverLimit() throws {
        let server = try TestServer(pageByteLimit: 10)
        defer { server.remove() }
        let token = try server.token()
        let stored = try Self.seedLargeEvents(server, count: 2)

        let response = try server.request("GET", "/api/v4.1/event?name=Big&from=2026-12-01T00:00:00Z", token: token)
        #expect(response.status == 200)
        #expect(try EventListRoutesTests.ids(response) == [stored[1]])
        #expect(try response.json()["count"] == 1)
        #expect(try response.json()["hasMore"] == true)
    }

    @Test func listOverConcurrencyLimitIs503() throws {
        let listBuilds = ConcurrencyLimit(limit: 1)
        let server = try TestServer(listBuilds: listBuilds)
        defer { server.remove() }
        let token = try server.token()

        // The test takes the only slot, as a page being built would.
        #expect(listBuilds.acquire())
        let busy = try server.request("GET", "/api/v4.1/event", token: token)
        #expect(busy.status == 503)
        #expect(busy.header("Retry-After") == "1")
        #expect(busy.errorMessage?.contains("limit 1") == true)

        listBuilds.release()
        #expect(try server.request("GET", "/api/v4.1/event", token: token).status == 200)
        #expect(listBuilds.count == 0)
    }

    @Test func concurrencyLimitCountsSlots() {
        let limit = ConcurrencyLimit(limit: 2)
        #expect(limit.acquire())
        #expect(limit.acquire())
        #expect(!limit.acquire())
        limit.release()
        #expect(limit.acquire())
        #expect(limit.count == 2)
    }

    /// Occupies the verifier's only queue until `release` is signalled.
    static func holdVerifier(_ verifier: CredentialVerifier, release: DispatchSemaphore) {
        let queued = verifier.verify(clientId: "none", clientSecret: "none", username: "none", password: "none") { _ in
            release.wait()
        }
        #expect(queued)
    }

    @Test func eventReadsDoNotWaitForLogins() throws {
        var http = HTTPServerConfiguration()
        http.eventLoopCount = 2
        http.workerThreadCount = 1
        http.shutdownDeadline = 5
        var verifierConfiguration = CredentialVerifier.Configuration()
        verifierConfiguration.threadCount = 1
        verifierConfiguration.queueLimit = 1
        let server = try TestServer(httpConfiguration: http, verifier: verifierConfiguration)
        defer { server.remove() }
        let token = try server.token()
        let id = try server.postEvent(#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"O-1"}"#, token: token)

        let release = DispatchSemaphore(value: 0)
        var released = false
        defer { if !released { release.signal() } }
        Self.holdVerifier(server.verifier, release: release)

        // One login waits in the queue; the next finds it full.
        let waiting = try server.client()
        try waiting.write("POST \(Self.wrongPasswordQuery) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        let deadline = Date().addingTimeInterval(10)
        while server.verifier.pendingCount < 2, Date() < deadline { usleep(1_000) }
        #expect(server.verifier.pendingCount == 2)

        let full = try server.request("POST", "/oauth/token?" + OAuthTests.goodQuery)
        #expect(full.status == 503)
        #expect(full.header("Retry-After") == "1")
        #expect(try full.json()["error"] == "temporarily_unavailable")

        // The single worker thread still serves database reads while every check is stuck.
        #expect(try server.request("GET", "/api/v4.1/event/\(id)", token: token).status == 200)

        release.signal()
        released = true
        #expect(try waiting.readResponse(method: "POST").status == 400)
        #expect(try server.request("POST", "/oauth/token?" + OAuthTests.goodQuery).status == 200)
    }

    @Test func parallelGuessesAreLimited() throws {
        var throttle = LoginThrottle.Configuration()
        throttle.freeFailures = 3
        throttle.rejectAfter = 4
        throttle.delayStepMilliseconds = 20
        var verifierConfiguration = CredentialVerifier.Configuration()
        verifierConfiguration.threadCount = 1
        verifierConfiguration.queueLimit = 16
        let server = try TestServer(throttle: throttle, verifier: verifierConfiguration)
        defer { server.remove() }

        let release = DispatchSemaphore(value: 0)
        var released = false
        defer { if !released { release.signal() } }
        Self.holdVerifier(server.verifier, release: release)

        // No guess is checked until the queue is released, so a count taken after the hash
        // would let all eight through.
        var clients: [TestHTTPClient] = []
        for _ in 0..<8 {
            let client = try server.client()
            try client.write("POST \(Self.wrongPasswordQuery) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
            clients.append(client)
        }
        let deadline = Date().addingTimeInterval(10)
        while server.verifier.pendingCount < 1 + throttle.rejectAfter, Date() < deadline { usleep(1_000) }
        #expect(server.verifier.pendingCount == 1 + throttle.rejectAfter)

        release.signal()
        released = true
        let statuses = try clients.map { try $0.readResponse(method: "POST").status }
        #expect(statuses.filter { $0 == 400 }.count == throttle.rejectAfter)
        #expect(statuses.filter { $0 == 429 }.count == 8 - throttle.rejectAfter)
    }

    @Test func throttleReservesBeforeCheck() {
        var configuration = LoginThrottle.Configuration()
        configuration.freeFailures = 2
        configuration.rejectAfter = 3
        let throttle = LoginThrottle(configuration: configuration)

        #expect(throttle.reserve(username: "a", address: "1") == .proceed(delayMilliseconds: 0))
        #expect(throttle.reserve(username: "a", address: "1") == .proceed(delayMilliseconds: 0))
        #expect(throttle.reserve(username: "a", address: "1") == .proceed(delayMilliseconds: configuration.delayStepMilliseconds))
        #expect(throttle.reserve(username: "a", address: "1") == .reject(retryAfterSeconds: 900))

        // A request never checked gives its attempt back.
        throttle.release(username: "a", address: "1")
        #expect(throttle.check(username: "a", address: "1") == .proceed(delayMilliseconds: configuration.delayStepMilliseconds))
    }

    @Test func successfulLoginsDoNotFillAddress() {
        var configuration = LoginThrottle.Configuration()
        configuration.rejectAfter = 3
        let throttle = LoginThrottle(configuration: configuration)

        for index in 0..<10 {
            #expect(throttle.reserve(username: "user\(index)", address: "10.0.0.1") == .proceed(delayMilliseconds: 0))
            throttle.recordSuccess(username: "user\(index)", address: "10.0.0.1")
        }
        #expect(throttle.check(username: "other", address: "10.0.0.1") == .proceed(delayMilliseconds: 0))
    }

    @Test func clientSecretVerifiedOnce() throws {
        let users = try UserDirectory.parse(Array(TestServer.usersJSON.utf8))
        let verifier = CredentialVerifier(users: users)

        #expect(verifier.check(clientId: "demo", clientSecret: "wrong", username: "demo", password: "demo") == .invalidClient)
        #expect(verifier.verifiedClientSecretCount == 0)

        let outcome = verifier.check(clientId: "demo", clientSecret: "demo", username: "demo", password: "demo")
        #expect(outcome == .valid(try #require(users.user(named: "demo"))))
        #expect(verifier.verifiedClientSecretCount == 1)

        #expect(verifier.check(clientId: "demo", clientSecret: "demo", username: "nobody", password: "demo") == .invalidUser)
        #expect(verifier.check(clientId: "demo", clientSecret: "demo", username: "demo", password: "wrong") == .invalidUser)
        #expect(verifier.check(clientId: "demo", clientSecret: "wrong", username: "demo", password: "demo") == .invalidClient)
        #expect(verifier.verifiedClientSecretCount == 1)
    }
}
