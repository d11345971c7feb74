@testable import EventsAPI
import Foundation
import JSON
import Testing

@Suite struct OAuthTests {
    static let goodQuery = "username=demo&password=demo&client_id=demo&client_secret=demo&grant_type=password&scope=api"

    @Test func tokenFromQueryParameters() throws {
        let server = try TestServer()
        defer { server.remove() }

        let response = try server.request("POST", "/oauth/token?" + Self.goodQuery)
        #expect(response.status == 200)
        let body = try response.json()
        #expect(body.objectValue?.keys == ["access_token", "token_type", "expires_in", "scope", "Retailer_id"])
        #expect(body["token_type"] == "bearer")
        #expect(body["expires_in"] == 86_400)
        #expect(body["scope"] == "api")
        #expect(body["Retailer_id"] == .null)
        // 32 random bytes in base64url without padding.
        #expect(body["access_token"]?.stringValue?.count == 43)
        #expect(response.header("Cache-Control") == "no-store")
    }

    @Test func tokenFromFormBody() throws {
        let server = try TestServer()
        defer { server.remove() }

        let response = try server.request("POST", "/oauth/token", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                          body: Array(Self.goodQuery.utf8))
        #expect(response.status == 200)
        let token = try #require(try response.json()["access_token"]?.stringValue)
        let check = try server.request("GET", "/api/v4.1/event", token: token)
        #expect(check.status == 200)
    }

    @Test func retailerUserGetsRetailerID() throws {
        let server = try TestServer()
        defer { server.remove() }

        let response = try server.request("POST", "/oauth/token?username=retailer1&password=retailer1&client_id=demo&client_secret=demo&grant_type=password&scope=api")
        #expect(response.status == 200)
        #expect(try response.json()["Retailer_id"] == "1")
    }

    @Test func badPasswordIsInvalidGrant() throws {
        let server = try TestServer()
        defer { server.remove() }

        for query in ["username=demo&password=wrong", "username=nobody&password=demo"] {
            let response = try server.request("POST", "/oauth/token?\(query)&client_id=demo&client_secret=demo&grant_type=password&scope=api")
            #expect(response.status == 400, "\(query)")
            #expect(try response.json() == ["error": "invalid_grant", "error_description": "Bad credentials"], "\(query)")
        }
    }

    @Test func badClientIsInvalidClient() throws {
        let server = try TestServer()
        defer { server.remove() }

        let response = try server.request("POST", "/oauth/token?username=demo&password=demo&client_id=demo&client_secret=nope&grant_type=password")
        #expect(response.status == 401)
        #expect(try response.json()["error"] == "invalid_client")
    }

    @Test func malformedRequestsAreRejected() throws {
        let server = try TestServer()
        defer { server.remove() }

        let cases: [(String, String, String)] = [
            ("username=demo&password=demo&client_id=demo&client_secret=demo", "unsupported_grant_type", "grant_type"),
            ("username=demo&password=demo&client_id=demo&client_secret=demo&grant_type=client_credentials", "unsupported_grant_type", "client_credentials"),
            ("password=demo&client_id=demo&client_secret=demo&grant_type=password", "invalid_request", "username"),
            ("username=demo&password=demo&client_secret=demo&grant_type=password", "invalid_request", "client_id"),
            (Self.goodQuery + "&username=other", "invalid_request", "more than once"),
            ("username=demo&password=demo&client_id=demo&client_secret=demo&grant_type=password&scope=admin", "invalid_scope", "admin"),
        ]
        for (query, error, mention) in cases {
            let response = try server.request("POST", "/oauth/token?" + query)
            #expect(response.status == 400, "\(query)")
            let body = try response.json()
            #expect(body["error"]?.stringValue == error, "\(query)")
            #expect(body["error_description"]?.stringValue?.contains(mention) == true, "\(query): \(response.text)")
        }

        let json = try server.request("POST", "/oauth/token", json: #"{"username":"demo"}"#)
        #expect(json.status == 400)
        #expect(try json.json()["error_description"]?.stringValue?.contains("x-www-form-urlencoded") == true)
    }

    @Test func repeatedFailuresGetSlowedThen429() throws {
        let server = try TestServer()
        defer { server.remove() }

        var statuses: [Int] = []
        for _ in 0..<10 {
            statuses.append(try server.request("POST", "/oauth/token?username=demo&password=guess&client_id=demo&client_secret=demo&grant_type=password").status)
        }
        #expect(statuses == Array(repeating: 400, count: 10))

        // Locked now: even the right password gets 429 without being checked.
        let locked = try server.request("POST", "/oauth/token?" + Self.goodQuery)
        #expect(locked.status == 429)
        let retryAfter = try #require(locked.header("Retry-After").flatMap(Int.init))
        #expect(retryAfter > 0)
        #expect(retryAfter <= 900)
        #expect(try locked.json()["error"] == "too_many_requests")

        // The address is locked too, for every user, until the window ends.
        let otherUser = try server.request("POST", "/oauth/token?username=retailer1&password=retailer1&client_id=demo&client_secret=demo&grant_type=password")
        #expect(otherUser.status == 429)
        server.clock.advance(seconds: 16 * 60)
        let later = try server.request("POST", "/oauth/token?" + Self.goodQuery)
        #expect(later.status == 200)
    }

    @Test func slowedFailuresTakeLonger() throws {
        var configuration = LoginThrottle.Configuration()
        configuration.freeFailures = 2
        configuration.delayStepMilliseconds = 200
        let server = try TestServer(throttle: configuration)
        defer { server.remove() }

        func timedFailure() throws -> Double {
            let started = Date()
            _ = try server.request("POST", "/oauth/token?username=demo&password=guess&client_id=demo&client_secret=demo&grant_type=password")
            return Date().timeIntervalSince(started)
        }
        _ = try timedFailure()
        _ = try timedFailure()
        // The third failure comes after two, so its response waits at least one delay step.
        #expect(try timedFailure() >= 0.2)
    }

    @Test func tokensSurviveRestart() throws {
        let first = try TestServer()
        let token = try first.token()
        let eventID = try first.postEvent(#"{"name":"CREATE","retailerId":"1","entityType":"ORDER","entityRef":"HD-9"}"#, token: token)
        first.stop()

        let second = try TestServer(directory: first.directory)
        defer { second.remove() }
        let response = try second.request("GET", "/api/v4.1/event/\(eventID)", token: token)
        #expect(response.status == 200)
        #expect(try response.json()["id"]?.stringValue == eventID)
    }

    @Test func storedTokensAreHashesOnly() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let database = try Data(contentsOf: URL(fileURLWithPath: server.directory + "/events.sqlite"))
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: server.directory + "/events.sqlite-wal"))) ?? Data()
        #expect(database.range(of: Data(token.utf8)) == nil)
        #expect(wal.range(of: Data(token.utf8)) == nil)
    }

    @Test func passwordHashRoundTrips() throws {
        let hash = PasswordHash.make(password: "s3cret pass", iterations: 1000)
        #expect(hash.hasPrefix("pbkdf2-sha256$1000$"))
        #expect(try PasswordHash.verify(password: "s3cret pass", against: hash))
        #expect(try !PasswordHash.verify(password: "s3cret pas", against: hash))
        #expect(throws: PasswordHashError.self) { try PasswordHash.verify(password: "x", against: "md5$abc") }
    }

    @Test func bearerHeaderParsing() {
        let cases: [(String, String?)] = [
            ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc  ", "abc"), ("Bearer", nil),
            ("Bearer ", nil), ("Bearerabc", nil), ("Basic abc", nil), ("Token abc", nil),
        ]
        for (header, expected) in cases {
            let token = Authenticator.bearerToken(header).map { String(decoding: $0, as: UTF8.self) }
            #expect(token == expected, "\(header)")
        }
    }

    @Test func passwordHashKnownVector() throws {
        // PBKDF2-HMAC-SHA256 with P="password", S="salt", c=4096, dkLen=32, checked against
        // Python's hashlib.pbkdf2_hmac.
        let derived = PasswordHash.derive(password: "password", salt: Array("salt".utf8), iterations: 4096)
        let hex = derived.map { String(format: "%02x", $0) }.joined()
        #expect(hex == "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
    }
}

@Suite struct QuickStartUsersTests {
    @Test func quickStartUsersFileVerifies() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let users = try UserDirectory.load(path: repository.appendingPathComponent("Config/users.json").path)

        #expect(users.accountId == "ACME")
        let demo = try #require(users.user(named: "demo"))
        #expect(demo.retailerIds == nil)
        #expect(try PasswordHash.verify(password: "demo", against: demo.passwordHash))
        let client = try #require(users.client(id: "demo"))
        #expect(try PasswordHash.verify(password: "demo", against: client.secretHash))
        #expect(users.user(named: "retailer1")?.retailerIds == ["1"])
    }

    @Test func invalidUsersFilesNamePath() throws {
        let cases: [(String, String)] = [
            (#"{"users":[],"clients":[]}"#, "$.accountId"),
            (#"{"accountId":"A","users":[{"username":"x"}],"clients":[]}"#, "$.users[0].passwordHash"),
            (#"{"accountId":"A","users":[{"username":"x","passwordHash":"plain"}],"clients":[]}"#, "$.users[0].passwordHash: invalid password hash"),
            (#"{"accountId":"A","users":[],"clients":[],"extra":1}"#, "$.extra: unknown key"),
            (#"{"accountId":"A","users":[{"username":"x","passwordHash":"\#(PasswordHash.make(password: "p", iterations: 1000))","retailers":[]}],"clients":[]}"#, "omit the key"),
        ]
        for (text, expected) in cases {
            do {
                _ = try UserDirectory.parse(Array(text.utf8))
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
