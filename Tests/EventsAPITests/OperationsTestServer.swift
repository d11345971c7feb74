import EventStore
import EventsAPI
import Foundation
import HTTP
import Telemetry
import Workflow

/// The whole server as `events-server serve` assembles it (`ServerRoutes.makeRouter`), in
/// process: a real store in a temporary directory, the reference workflows, a running engine
/// and an HTTP server on 127.0.0.1 with an ephemeral port. Users are those of `TestServer`.
final class OperationsTestServer {
    let directory: String
    let store: EventStore
    let engine: WorkflowEngine
    let readiness: OperationsReadiness
    let metrics: MetricsRegistry
    let router: Router
    let server: HTTPServer
    let port: Int

    init(extraChecks: [OperationsReadiness.Check] = []) throws {
        directory = NSTemporaryDirectory() + "operations-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try EventStore(path: directory + "/events.sqlite")
        let users = try UserDirectory.parse(Array(TestServer.usersJSON.utf8))
        let authenticator = Authenticator(users: users, store: store)
        let workflows = try WorkflowLoader.load(directory: CLIProcess.repositoryRoot + "/Config/workflows")
        engine = WorkflowEngine(store: store, workflows: workflows)
        try engine.start()

        readiness = OperationsReadiness(checks: extraChecks)
        metrics = MetricsRegistry.shared
        router = ServerRoutes.makeRouter(ServerRoutes.Components(
            store: store, authenticator: authenticator, engine: engine, readiness: readiness, metrics: metrics))

        var configuration = HTTPServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.eventLoopCount = 1
        configuration.shutdownDeadline = 5
        configuration.handlesSignals = false
        server = HTTPServer(configuration: configuration, router: router)
        port = try server.start()
    }

    /// Stops every part and deletes the directory.
    func remove() {
        server.shutdown()
        engine.stop()
        store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Sends one request on a new connection.
    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> TestResponse {
        try TestHTTPClient(port: port).request(method, target, headers: headers, body: body)
    }
}
