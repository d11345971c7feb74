import EventStore
import EventsAPI
import Foundation
import HTTP
import JSON
import Synchronization
import Telemetry

/// A clock for tests: the real time plus an offset that a test can move forward.
final class TestClock: Sendable {
    private let offset = Atomic<Int64>(0)

    /// Epoch milliseconds.
    func now() -> Int64 {
        TimeFormat.nowMilliseconds() + offset.load(ordering: .relaxed)
    }

    func advance(seconds: Int64) {
        offset.add(seconds * 1000, ordering: .relaxed)
    }
}

/// The Events API on a real HTTPServer bound to 127.0.0.1 on an ephemeral port, with a real
/// SQLite file in a temporary directory and real tokens. Other test files add their routes
/// through `configure`.
///
/// Users (password = username): `demo` is account-wide, `retailer1` is limited to retailer 1,
/// `retailers23` to retailers 2 and 3. The client is `demo` with secret `demo`.
final class TestServer: Sendable {
    static let accountId = "ACME"
    static let iterations = 1000

    let directory: String
    let store: EventStore
    let authenticator: Authenticator
    let verifier: CredentialVerifier
    let server: HTTPServer
    let port: Int
    let clock: TestClock

    /// The users file in the test's directory, made once per process (PBKDF2 at low cost).
    static let usersJSON: String = {
        func hash(_ password: String) -> String { PasswordHash.make(password: password, iterations: iterations) }
        return """
            {"accountId": "\(accountId)",
             "users": [
               {"username": "demo", "passwordHash": "\(hash("demo"))"},
               {"username": "retailer1", "passwordHash": "\(hash("retailer1"))", "retailers": ["1"]},
               {"username": "retailers23", "passwordHash": "\(hash("retailers23"))", "retailers": ["2", "3"]}
             ],
             "clients": [{"clientId": "demo", "secretHash": "\(hash("demo"))"}]}
            """
    }()

    /// Starts a server. Pass the `directory` of a stopped server to restart on its database.
    init(directory: String? = nil, clock: TestClock = TestClock(), throttle: LoginThrottle.Configuration? = nil,
         listener: (any EventSubmissionListener)? = nil, httpConfiguration: HTTPServerConfiguration? = nil,
         pageByteLimit: Int = EventRoutes.defaultPageByteLimit,
         listBuilds: ConcurrencyLimit = ConcurrencyLimit(limit: EventRoutes.defaultConcurrentListLimit),
         verifier: CredentialVerifier.Configuration? = nil,
         configure: (inout Router, EventStore, Authenticator) throws -> Void = { _, _, _ in }) throws {
        self.directory = directory ?? NSTemporaryDirectory() + "eventsapi-tests-" + UUID().uuidString
        self.clock = clock
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        let usersPath = self.directory + "/users.json"
        if !FileManager.default.fileExists(atPath: usersPath) {
            try Data(Self.usersJSON.utf8).write(to: URL(fileURLWithPath: usersPath))
        }

        store = try EventStore(path: self.directory + "/events.sqlite")
        let users = try UserDirectory.load(path: usersPath)
        authenticator = Authenticator(users: users, store: store, clock: { clock.now() })
        try authenticator.loadTokens()

        var throttleConfiguration = throttle ?? LoginThrottle.Configuration()
        if throttle == nil { throttleConfiguration.delayStepMilliseconds = 20 }
        let loginThrottle = LoginThrottle(configuration: throttleConfiguration, clock: { clock.now() })

        var router = Router()
        self.verifier = CredentialVerifier(users: users, configuration: verifier ?? CredentialVerifier.Configuration())
        OAuthRoutes(authenticator: authenticator, throttle: loginThrottle, verifier: self.verifier).register(into: &router)
        EventRoutes(store: store, authenticator: authenticator, listener: listener, clock: { clock.now() },
                    pageByteLimit: pageByteLimit, listBuilds: listBuilds).register(into: &router)
        try configure(&router, store, authenticator)
        authenticator.install(into: &router)

        var configuration = httpConfiguration ?? HTTPServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        if httpConfiguration == nil {
            configuration.eventLoopCount = 2
            configuration.shutdownDeadline = 5
        }
        server = HTTPServer(configuration: configuration, router: router)
        port = try server.start()
    }

    /// Stops the server and closes the database, keeping the directory for a restart.
    func stop() {
        server.shutdown()
        store.close()
    }

    /// Stops and deletes the directory.
    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func client() throws -> TestHTTPClient {
        try TestHTTPClient(port: port)
    }

    /// Sends one request on a new connection.
    func request(_ method: String, _ target: String, token: String? = nil, headers: [(String, String)] = [],
                 body: [UInt8] = []) throws -> TestResponse {
        var fields = headers
        if let token { fields.append(("Authorization", "Bearer \(token)")) }
        if !body.isEmpty, !fields.contains(where: { $0.0.lowercased() == "content-type" }) {
            fields.append(("Content-Type", "application/json"))
        }
        return try client().request(method, target, headers: fields, body: body)
    }

    func request(_ method: String, _ target: String, token: String? = nil, headers: [(String, String)] = [],
                 json: String) throws -> TestResponse {
        try request(method, target, token: token, headers: headers, body: Array(json.utf8))
    }

    /// Gets a token through `POST /oauth/token` for a test user (password = username).
    func token(_ username: String = "demo") throws -> String {
        let response = try request("POST", "/oauth/token?username=\(username)&password=\(username)&client_id=demo&client_secret=demo&grant_type=password&scope=api")
        guard response.status == 200, let token = try response.json()["access_token"]?.stringValue else {
            throw TestClientError("token request for \(username) failed: \(response.status) \(response.text)")
        }
        return token
    }

    /// Posts an event and returns its id; throws unless the response is 200.
    @discardableResult
    func postEvent(_ json: String, token: String) throws -> String {
        let response = try request("POST", "/api/v4.1/event/async", token: token, json: json)
        guard response.status == 200, let id = try response.json()["eventId"]?.stringValue else {
            throw TestClientError("POST /event/async failed: \(response.status) \(response.text)")
        }
        return id
    }
}
