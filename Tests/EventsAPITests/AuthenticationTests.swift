@testable import EventsAPI
import Foundation
import HTTP
import JSON
import Synchronization
import Testing

@Suite struct AuthenticationTests {
    static let retailer1Event = #"{"name":"CREATE","retailerId":"1","entityType":"ORDER","entityRef":"HD-1"}"#
    static let retailer2Event = #"{"name":"CREATE","retailerId":"2","entityType":"ORDER","entityRef":"CC-2"}"#

    @Test func missingTokenIs401() throws {
        let server = try TestServer()
        defer { server.remove() }

        for (method, target) in [("GET", "/api/v4.1/event"), ("GET", "/api/v4.1/event/0190f1a2-7b3c-7d4e-8f00-112233445566"),
                                 ("POST", "/api/v4.1/event/async")] {
            let response = try server.request(method, target, json: Self.retailer1Event)
            #expect(response.status == 401, "\(method) \(target)")
            #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(method) \(target)")
            #expect(response.errorMessage?.contains("Authorization") == true, "\(method) \(target)")
        }
        let count = try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events") }
        #expect(count == 0)
    }

    @Test func wrongTokenIs401() throws {
        let server = try TestServer()
        defer { server.remove() }
        _ = try server.token()

        let wrong = try server.request("GET", "/api/v4.1/event", token: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        #expect(wrong.status == 401)
        #expect(wrong.header("WWW-Authenticate")?.contains("invalid_token") == true)
        let basic = try server.request("GET", "/api/v4.1/event", headers: [("Authorization", "Basic ZGVtbzpkZW1v")])
        #expect(basic.status == 401)
        #expect(basic.errorMessage?.contains("Bearer") == true)
    }

    @Test func schemeIsCaseInsensitive() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let response = try server.request("GET", "/api/v4.1/event", headers: [("Authorization", "bearer \(token)")])
        #expect(response.status == 200)
    }

    @Test func expiredTokenIs401() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        #expect(try server.request("GET", "/api/v4.1/event", token: token).status == 200)

        server.clock.advance(seconds: 86_400)
        let expired = try server.request("GET", "/api/v4.1/event", token: token)
        #expect(expired.status == 401)
        #expect(expired.errorMessage?.contains("expired") == true)
        #expect(expired.header("WWW-Authenticate")?.contains("invalid_token") == true)
    }

    @Test func retailerUserSeesOnlyItsRetailer() throws {
        let server = try TestServer()
        defer { server.remove() }
        let demo = try server.token()
        let retailer1 = try server.token("retailer1")
        let own = try server.postEvent(Self.retailer1Event, token: demo)
        let other = try server.postEvent(Self.retailer2Event, token: demo)

        #expect(try server.request("GET", "/api/v4.1/event/\(own)", token: retailer1).status == 200)
        let hidden = try server.request("GET", "/api/v4.1/event/\(other)", token: retailer1)
        #expect(hidden.status == 404)
        #expect(hidden.errorMessage == "event \(other) not found")

        let list = try server.request("GET", "/api/v4.1/event", token: retailer1)
        #expect(list.status == 200)
        #expect(try list.json()["results"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [own])

        let filtered = try server.request("GET", "/api/v4.1/event?retailerId=2", token: retailer1)
        #expect(filtered.status == 403)
    }

    @Test func retailerUserPostsOnlyForItsRetailer() throws {
        let server = try TestServer()
        defer { server.remove() }
        let retailer1 = try server.token("retailer1")

        #expect(try server.request("POST", "/api/v4.1/event/async", token: retailer1, json: Self.retailer1Event).status == 200)
        let forbidden = try server.request("POST", "/api/v4.1/event/async", token: retailer1, json: Self.retailer2Event)
        #expect(forbidden.status == 403)
        #expect(forbidden.errorMessage?.contains("retailer 2") == true)
        let count = try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events") }
        #expect(count == 1)
    }

    @Test func multiRetailerUserSeesBoth() throws {
        let server = try TestServer()
        defer { server.remove() }
        let demo = try server.token()
        let user = try server.token("retailers23")
        _ = try server.postEvent(Self.retailer1Event, token: demo)
        let second = try server.postEvent(Self.retailer2Event, token: demo)
        let third = try server.postEvent(#"{"name":"CREATE","retailerId":"3","entityType":"ORDER","entityRef":"CC-3"}"#, token: user)

        let list = try server.request("GET", "/api/v4.1/event", token: user)
        #expect(try list.json()["results"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [third, second])
    }

    @Test func accountWideUserSeesEverything() throws {
        let server = try TestServer()
        defer { server.remove() }
        let demo = try server.token()
        let retailer1 = try server.token("retailer1")
        let first = try server.postEvent(Self.retailer1Event, token: retailer1)
        let second = try server.postEvent(Self.retailer2Event, token: demo)

        #expect(try server.request("GET", "/api/v4.1/event/\(first)", token: demo).status == 200)
        #expect(try server.request("GET", "/api/v4.1/event/\(second)", token: demo).status == 200)
        let list = try server.request("GET", "/api/v4.1/event", token: demo)
        #expect(try list.json()["count"] == 2)
    }

    @Test func otherAccountIsForbidden() throws {
        let server = try TestServer()
        defer { server.remove() }
        let demo = try server.token()

        let response = try server.request("POST", "/api/v4.1/event/async", token: demo,
                                          json: #"{"name":"CREATE","retailerId":"1","accountId":"OTHER","entityType":"ORDER","entityRef":"HD-1"}"#)
        #expect(response.status == 403)
        let same = try server.request("POST", "/api/v4.1/event/async", token: demo,
                                      json: #"{"name":"CREATE","retailerId":"1","accountId":"ACME","entityType":"ORDER","entityRef":"HD-1"}"#)
        #expect(same.status == 200)
    }

    @Test func expectContinueWithBadTokenGets401Only() throws {
        let server = try TestServer()
        defer { server.remove() }

        let client = try server.client()
        let body = Self.retailer1Event
        try client.write("POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 401)
        let count = try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events") }
        #expect(count == 0)
    }

    @Test func expectContinueWithGoodTokenGets100() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let client = try server.client()
        let body = Self.retailer1Event
        try client.write("POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        try client.write(body)
        let final = try client.readResponse()
        #expect(final.status == 200)
    }

    /// The head filter hands the token's digest to the handler, so the token is hashed once
    /// and still checked again when the handler runs.
    @Test func headFilterAttachesToken() throws {
        let server = try TestServer(configure: { router, _, authenticator in
            router.add(.get, "/api/v4.1/whoami") { request, responder in
                let user = try? authenticator.authenticate(request).get()
                responder.send(.json(200, ["username": user.map { .string($0.username) } ?? .null,
                                           "attached": .bool(request.headFilterValue(Authenticator.VerifiedToken.self) != nil)]))
            }
        })
        defer { server.remove() }
        let token = try server.token("retailer1")

        let response = try server.request("GET", "/api/v4.1/whoami", token: token)
        #expect(response.status == 200)
        #expect(try response.json()["username"] == "retailer1")
        #expect(try response.json()["attached"] == true)
        let anonymous = try server.request("GET", "/api/v4.1/whoami")
        #expect(anonymous.status == 401)
    }

    /// Only the Authenticator's own head filter can vouch for a request: a user placed in
    /// the request by other code does not replace the token.
    @Test func foreignHeadFilterValueIsNotTrusted() throws {
        let server = try TestServer()
        defer { server.remove() }
        let user = AuthenticatedUser(username: "retailer1", accountId: "ACME", retailerIds: ["1"])
        var request = HTTPRequest(method: .get, target: "/api/v4.1/event", path: "/api/v4.1/event")
        request.attachHeadFilterValue(user)

        #expect(throws: APIError.self) { try server.authenticator.authenticate(request).get() }
    }

    /// Sends the head of a POST of `retailer1Event` with `Expect: 100-continue` and reads the 100.
    static func startUpload(to server: TestServer, token: String) throws -> TestHTTPClient {
        let client = try server.client()
        try client.write("POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(retailer1Event.utf8.count)\r\nExpect: 100-continue\r\nAuthorization: Bearer \(token)\r\n\r\n")
        #expect(try client.readResponse().status == 100)
        return client
    }

    static func storedEventCount(_ server: TestServer) throws -> Int64? {
        try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events") }
    }

    /// The head filter checks the token before the body is read. A token that expires while
    /// the body is on its way gets the 401 when the handler runs, and nothing is stored.
    @Test func tokenExpiredDuringBodyIs401() throws {
        let server = try TestServer()
        defer { server.remove() }
        let client = try Self.startUpload(to: server, token: try server.token())

        server.clock.advance(seconds: 86_401)
        try client.write(Self.retailer1Event)

        #expect(try client.readResponse().status == 401)
        #expect(try Self.storedEventCount(server) == 0)
    }

    /// A token revoked while a request's body is on its way gets the 401 for that request too.
    @Test func tokenRevokedDuringBodyIs401() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        let client = try Self.startUpload(to: server, token: token)

        let revoked = Mutex<Bool?>(nil)
        server.authenticator.revoke(token: token) { result in
            revoked.withLock { $0 = (try? result.get()) != nil }
        }
        let deadline = Date().addingTimeInterval(5)
        while revoked.withLock({ $0 }) == nil && Date() < deadline { usleep(10_000) }
        #expect(revoked.withLock { $0 } == true)
        try client.write(Self.retailer1Event)

        #expect(try client.readResponse().status == 401)
        #expect(try Self.storedEventCount(server) == 0)
    }

    /// A head filter that runs before the Authenticator's keeps its value for the handler.
    @Test func earlierFilterValueReachesHandler() throws {
        let server = try TestServer(configure: { router, _, _ in
            router.headFilter = { request, _ in
                request.attachHeadFilterValue("tenant-7")
                return nil
            }
            router.add(.get, "/api/v4.1/tenant") { request, responder in
                let tenant = request.headFilterValue(String.self)
                responder.send(.json(200, ["tenant": tenant.map { .string($0) } ?? .null]))
            }
        })
        defer { server.remove() }
        let token = try server.token()

        let response = try server.request("GET", "/api/v4.1/tenant", token: token)
        #expect(response.status == 200)
        #expect(try response.json()["tenant"] == "tenant-7")
    }
}
