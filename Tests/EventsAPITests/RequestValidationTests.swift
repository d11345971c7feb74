import EventStore
import EventsAPI
import Foundation
import JSON
import Testing

/// Requests that are ambiguous or meaningless and must be rejected with a message that names
/// the field or parameter, never served with a guess.
@Suite struct RequestValidationTests {
    @Test func nullAttributesIs400() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let response = try server.request("POST", "/api/v4.1/event/async", token: token,
                                          json: #"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"O-1","attributes":null}"#)
        #expect(response.status == 400)
        #expect(response.errorMessage?.hasPrefix("$.attributes: expected an object, got null") == true, "\(response.text)")

        // An absent attributes field still means {}.
        let id = try server.postEvent(#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"O-1"}"#, token: token)
        let stored = try server.request("GET", "/api/v4.1/event/\(id)", token: token)
        #expect(try stored.json()["attributes"] == .object(JSONObject()))
    }

    @Test func blankNamesAndRefsAre400() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let cases: [(String, String)] = [
            (#"{"name":"  ","retailerId":"1","entityType":"ORDER","entityRef":"O-1"}"#, "$.name"),
            (#"{"name":"\t\n","retailerId":"1","entityType":"ORDER","entityRef":"O-1"}"#, "$.name"),
            (#"{"name":"A","retailerId":" ","entityType":"ORDER","entityRef":"O-1"}"#, "$.retailerId"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"  "}"#, "$.entityRef"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":""}"#, "$.entityRef"),
            (#"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"O-1","rootEntityRef":" "}"#, "$.rootEntityRef"),
        ]
        for (body, field) in cases {
            let response = try server.request("POST", "/api/v4.1/event/async", token: token, json: body)
            #expect(response.status == 400, "\(body)")
            #expect(response.errorMessage?.hasPrefix(field + ": expected a non-empty") == true, "\(body): \(response.text)")
        }

        let list = try server.request("GET", "/api/v4.1/event?from=2000-01-01T00:00:00Z", token: token)
        #expect(try list.json()["count"] == 0)
    }

    @Test func repeatedAuthorizationIs400() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let orders = [[("Authorization", "Bearer \(token)"), ("Authorization", "Bearer junk")],
                      [("Authorization", "Bearer junk"), ("Authorization", "Bearer \(token)")],
                      [("Authorization", "Bearer \(token)"), ("Authorization", "Bearer \(token)")]]
        for headers in orders {
            let list = try server.request("GET", "/api/v4.1/event", headers: headers)
            #expect(list.status == 400)
            #expect(list.errorMessage?.contains("Authorization header is given 2 times") == true, "\(list.text)")

            let post = try server.request("POST", "/api/v4.1/event/async", headers: headers,
                                          json: #"{"name":"A","retailerId":"1","entityType":"ORDER","entityRef":"O-1"}"#)
            #expect(post.status == 400)
        }
        #expect(try server.request("GET", "/api/v4.1/event", token: token).status == 200)
    }

    @Test func expiredTokenMessageIsStable() throws {
        let clock = TestClock()
        let first = try TestServer(clock: clock)
        let token = try first.token()
        clock.advance(seconds: 86_400)

        for _ in 0..<2 {
            let response = try first.request("GET", "/api/v4.1/event", token: token)
            #expect(response.status == 401)
            #expect(response.errorMessage?.contains("the access token expired at") == true, "\(response.text)")
        }
        first.stop()

        // After a restart within the retention, the token still gets the expired message.
        let second = try TestServer(directory: first.directory, clock: clock)
        let afterRestart = try second.request("GET", "/api/v4.1/event", token: token)
        #expect(afterRestart.errorMessage?.contains("the access token expired at") == true, "\(afterRestart.text)")
        second.stop()

        // Past the retention the hash is gone, and the token is unknown.
        clock.advance(seconds: Authenticator.expiredTokenRetentionMilliseconds / 1000 + 1)
        let third = try TestServer(directory: first.directory, clock: clock)
        defer { third.remove() }
        let forgotten = try third.request("GET", "/api/v4.1/event", token: token)
        #expect(forgotten.status == 401)
        #expect(forgotten.errorMessage?.hasPrefix("invalid access token") == true, "\(forgotten.text)")
    }

    @Test func toBeforeDefaultWindowIsExplained() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let response = try server.request("GET", "/api/v4.1/event?to=2020-01-01T00:00:00Z", token: token)
        #expect(response.status == 400)
        let message = try #require(response.errorMessage)
        #expect(message.contains("to (2020-01-01T00:00:00Z) is before the default window"))
        #expect(message.contains("give a from at or before to"))
        #expect(!message.contains("from ("), "\(message)")
    }

    @Test func entityUnknownParameterIs400() throws {
        let server = try TestServer { router, store, authenticator in
            EntityRoutes(store: store, authenticator: authenticator).register(into: &router)
        }
        defer { server.remove() }
        let token = try server.token()

        let unknown = try server.request("GET", "/api/v4.1/entity/ORDER/O-1?retailerId=1&retailerID=2", token: token)
        #expect(unknown.status == 400)
        #expect(unknown.errorMessage == "unknown query parameter \"retailerID\": the only accepted parameter is retailerId")

        let known = try server.request("GET", "/api/v4.1/entity/ORDER/O-1?retailerId=1", token: token)
        #expect(known.status == 404)
    }
}
