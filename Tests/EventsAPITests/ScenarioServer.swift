import EventStore
import EventsAPI
import Foundation
import HTTP
import JSON
import Synchronization
import Workflow

/// A `TestServer` with the workflow engine wired as `serve` wires it: the engine is the
/// submission listener of `/event/async`, and `/event/sync` and the entity endpoint are routed.
final class ScenarioServer: Sendable {
    let server: TestServer
    let engine: WorkflowEngine
    let token: String

    /// Starts a server on `directory` (a new one when nil) with the workflows of
    /// `Config/workflows`, the ORDER::HD webhook pointed at `webhookPort` when given.
    init(directory: String? = nil, webhookPort: Int? = nil, extraWorkflows: [String] = [],
         configure: (inout WorkflowEngineConfiguration) -> Void = { _ in }) throws {
        var workflows = try ScenarioServer.workflows(webhookPort: webhookPort)
        for text in extraWorkflows {
            workflows.append(try ScenarioServer.workflow(text))
        }
        var configuration = WorkflowEngineConfiguration()
        configuration.workerCount = 2
        configuration.webhooks.initialBackoffMilliseconds = 50
        configure(&configuration)

        let listener = ForwardingListener()
        let engineBox = Mutex<WorkflowEngine?>(nil)
        let engineConfiguration = configuration
        server = try TestServer(directory: directory, listener: listener) { router, store, authenticator in
            let engine = WorkflowEngine(store: store, workflows: workflows, configuration: engineConfiguration)
            try engine.start()
            listener.target.withLock { $0 = engine }
            engineBox.withLock { $0 = engine }
            SyncRoutes(engine: engine, authenticator: authenticator).register(into: &router)
            EntityRoutes(store: store, authenticator: authenticator).register(into: &router)
        }
        engine = engineBox.withLock { $0! }
        token = try server.token()
    }

    /// Stops in `serve`'s order: HTTP first, then the engine, then the database.
    func stop() {
        server.server.shutdown()
        engine.stop()
        server.store.close()
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: server.directory)
    }

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Loads the reference workflows, with the ORDER::HD webhook URL moved to `webhookPort`.
    static func workflows(webhookPort: Int?) throws -> [WorkflowDefinition] {
        let source = repositoryRoot + "/Config/workflows"
        guard let webhookPort else { return try WorkflowLoader.load(directory: source) }
        let directory = NSTemporaryDirectory() + "scenario-workflows-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source) where name.hasSuffix(".json") {
            let text = try String(contentsOfFile: source + "/" + name, encoding: .utf8)
                .replacingOccurrences(of: "127.0.0.1:18090", with: "127.0.0.1:\(webhookPort)")
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        return try WorkflowLoader.load(directory: directory)
    }

    /// Decodes a workflow from JSON text through a temporary file, as the loader reads it.
    static func workflow(_ text: String) throws -> WorkflowDefinition {
        let path = NSTemporaryDirectory() + "scenario-workflow-" + UUID().uuidString + ".json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try WorkflowLoader.validate(file: path)
    }

    // MARK: - Requests

    func postSync(_ body: String) throws -> TestResponse {
        try server.request("POST", "/api/v4.1/event/sync", token: token, json: body)
    }

    func postAsync(_ body: String) throws -> String {
        try server.postEvent(body, token: token)
    }

    /// Polls `GET /event/{id}` until the event is neither PENDING nor SCHEDULED; returns it.
    func waitForEvent(_ id: String, seconds: Double = 20) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let response = try server.request("GET", "/api/v4.1/event/\(id)", token: token)
            let event = try response.json()
            let status = event["eventStatus"]?.stringValue
            if response.status == 200, status != EventStatus.pending, status != EventStatus.scheduled {
                return event
            }
            guard Date() < deadline else {
                throw TestClientError("event \(id) still \(status ?? "unknown") after \(seconds) s")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    /// Requests `GET /api/v4.1/entity/{type}/{ref}?retailerId=…` and returns nil on 404.
    func entity(_ type: String, _ ref: String, retailerId: String = "1") throws -> JSONValue? {
        let encodedRef = ref.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? ref
        let response = try server.request("GET", "/api/v4.1/entity/\(type)/\(encodedRef)?retailerId=\(retailerId)", token: token)
        if response.status == 404 { return nil }
        guard response.status == 200 else {
            throw TestClientError("GET entity \(type)/\(ref) returned \(response.status): \(response.text)")
        }
        return try response.json()
    }

    /// Returns the audits and inline events of a root, grouped by their `context.sourceEvents[0]`.
    func eventsBySource(rootEntityRef: String) throws -> [String: [JSONValue]] {
        var grouped: [String: [JSONValue]] = [:]
        var start = 0
        while true {
            let response = try server.request("GET", "/api/v4.1/event?context.rootEntityRef=\(rootEntityRef)&count=5000&start=\(start)",
                                              token: token)
            guard response.status == 200 else {
                throw TestClientError("GET /event returned \(response.status): \(response.text)")
            }
            let page = try response.json()
            for event in page["results"]?.arrayValue ?? [] {
                if let source = event["context"]?["sourceEvents"]?.arrayValue?.first?.stringValue {
                    grouped[source, default: []].append(event)
                }
            }
            guard page["hasMore"] == true else { return grouped }
            start += 5000
        }
    }
}

/// Hands `/event/async` announcements to the engine once it exists.
final class ForwardingListener: EventSubmissionListener {
    let target = Mutex<WorkflowEngine?>(nil)

    func eventsAccepted(_ events: [Event]) {
        target.withLock { $0 }?.eventsAccepted(events)
    }
}

extension JSONValue {
    /// Returns the audit attribute `name` of an audit event rendered as JSON.
    func auditValue(_ name: String) -> JSONValue? {
        self["attributes"]?.arrayValue?.first { $0["name"]?.stringValue == name }?["value"]
    }
}
