import HTTP
import Workflow

/// Every setting of `events-server serve`, with its built-in default.
///
/// Each value comes, from lowest to highest precedence, from the default here, `server.json` in
/// the config directory, an `EVENTS_*` environment variable, then a command-line flag.
/// `ServerSettings.table` lists them all; `--help` and the configuration reference in
/// `docs/operations.md` are generated from it.
struct ServerSettings: Sendable {
    // Network.
    var host = "127.0.0.1"
    var port = 8080
    var eventLoops = 0
    var maxConnections = HTTPDefaults.value.maxConnections

    // Request limits and timeouts.
    var maxRequestLineBytes = HTTPDefaults.value.maxRequestLineBytes
    var maxHeaderBytes = HTTPDefaults.value.maxHeaderBytes
    var maxHeaderFields = HTTPDefaults.value.maxHeaderCount
    var maxBodyBytes = HTTPDefaults.value.maxBodyBytes
    var headerTimeout = Int(HTTPDefaults.value.headerReadTimeout)
    var bodyTimeout = Int(HTTPDefaults.value.bodyReadTimeout)
    var keepAliveTimeout = Int(HTTPDefaults.value.keepAliveTimeout)
    var writeTimeout = Int(HTTPDefaults.value.writeTimeout)
    var workerThreads = HTTPDefaults.value.workerThreadCount
    var workerQueueLimit = HTTPDefaults.value.workerQueueLimit
    var shutdownTimeout = Int(HTTPDefaults.value.shutdownDeadline)

    // Storage and workflows.
    var dataDir = "data"
    var workflowsDir: String?
    /// 0: `WorkflowEngineConfiguration.defaultWorkerCount()`.
    var workflowWorkers = 0
    var syncTimeout = EngineDefaults.value.syncTimeoutMilliseconds / 1000
    var maxInlineEvents = EngineDefaults.value.limits.maxInlineEvents
    var maxChainDepth = EngineDefaults.value.limits.maxChainDepth
    var webhookAttempts = EngineDefaults.value.webhooks.maxAttempts
    var executionPacing = EngineDefaults.value.executionPacing
    var pacedExecutionShare = Int((EngineDefaults.value.executionShareUnderLoad * 1000).rounded())
    var pacingBacklogLimit = EngineDefaults.value.deferredBacklogLimit
    var pacingMinimumRate = EngineDefaults.value.pacingMinimumRequestRate
    var queueMemoryLimit = EngineDefaults.value.queueMemoryLimit

    // Credentials.
    var usersFile: String?
    var usersJson: String?
    var tokenLifetime = 86_400
    var requireCredentials = false

    // Logs.
    var logLevel = "info"
    var logFormat = "logfmt"
    var accessLogLevel = HTTPDefaults.value.accessLogLevel.name

    /// The database file inside the data directory.
    var databasePath: String { dataDir + "/events.sqlite" }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// The settings in the order `--help` lists them.
    static let table: [Setting] = [
        Setting(key: "host", kind: .text,
                summary: "Address to listen on: an IPv4 or IPv6 address or a host name. Use 0.0.0.0 or :: to accept connections from other machines.",
                apply: { $0.host = $1.description }, read: { .text($0.host) }),
        Setting(key: "port", kind: .integer(0...65_535, unit: "TCP port"),
                summary: "Port to listen on; 0 picks a free port, which the first info log line reports.",
                apply: { $0.port = $1.integerValue }, read: { .integer($0.port) }),
        Setting(key: "dataDir", kind: .path,
                summary: "Directory of the database file events.sqlite; created when missing.",
                apply: { $0.dataDir = $1.description }, read: { .text($0.dataDir) }),
        Setting(key: "workflowsDir", kind: .path,
                summary: "Directory of the workflow files (*.json) loaded at start.",
                defaultDescription: "workflows in the config directory",
                apply: { $0.workflowsDir = $1.description }, read: { .text($0.workflowsDir ?? "") }),
        Setting(key: "usersFile", kind: .path,
                summary: "File of users and API clients with their password hashes.",
                defaultDescription: "users.json in the config directory",
                apply: { $0.usersFile = $1.description }, read: { .text($0.usersFile ?? "") }),
        Setting(key: "usersJson", kind: .text,
                summary: "Users and API clients as a JSON document in the users-file format; replaces the users file. Meant for containers.",
                defaultDescription: "unset",
                apply: { $0.usersJson = $1.description }, read: { .text($0.usersJson ?? "") }),
        Setting(key: "requireCredentials", kind: .boolean,
                summary: "Refuse to start when no user or no API client is configured, or when the demo credentials (demo / demo) are present. --no-demo-credentials sets it too.",
                apply: { $0.requireCredentials = $1.booleanValue }, read: { .boolean($0.requireCredentials) }),
        Setting(key: "tokenLifetime", kind: .integer(60...31_536_000, unit: "seconds"),
                summary: "Lifetime of the access tokens that /oauth/token issues.",
                apply: { $0.tokenLifetime = $1.integerValue }, read: { .integer($0.tokenLifetime) }),
        Setting(key: "logLevel", kind: .choice(ServerSettings.logLevels),
                summary: "Minimum level of the log lines written to standard error.",
                apply: { $0.logLevel = $1.description }, read: { .text($0.logLevel) }),
        Setting(key: "logFormat", kind: .choice(["logfmt", "json"]),
                summary: "Format of the log lines: logfmt (key=value) or one JSON object per line.",
                apply: { $0.logFormat = $1.description }, read: { .text($0.logFormat) }),
        Setting(key: "accessLogLevel", kind: .choice(ServerSettings.logLevels),
                summary: "Level of the access log line written for each request; set it below logLevel to turn access logs off.",
                apply: { $0.accessLogLevel = $1.description }, read: { .text($0.accessLogLevel) }),
        Setting(key: "eventLoops", kind: .integer(0...256, unit: "threads"),
                summary: "Event-loop threads that accept connections and parse requests; 0 means one per CPU core.",
                apply: { $0.eventLoops = $1.integerValue }, read: { .integer($0.eventLoops) }),
        Setting(key: "workerThreads", kind: .integer(1...1024, unit: "threads"),
                summary: "Threads that run the handlers that read the database or hash passwords.",
                apply: { $0.workerThreads = $1.integerValue }, read: { .integer($0.workerThreads) }),
        Setting(key: "workerQueueLimit", kind: .integer(1...1_000_000, unit: "requests"),
                summary: "Requests that may wait for a worker thread; past it the server responds 503 with Retry-After.",
                apply: { $0.workerQueueLimit = $1.integerValue }, read: { .integer($0.workerQueueLimit) }),
        Setting(key: "maxConnections", kind: .integer(1...1_000_000, unit: "connections"),
                summary: "Open client connections; a connection accepted past it gets 503 with Retry-After and is closed.",
                apply: { $0.maxConnections = $1.integerValue }, read: { .integer($0.maxConnections) }),
        Setting(key: "maxRequestLineBytes", kind: .integer(256...1_048_576, unit: "bytes"),
                summary: "Longest request line; a longer one gets 414.",
                apply: { $0.maxRequestLineBytes = $1.integerValue }, read: { .integer($0.maxRequestLineBytes) }),
        Setting(key: "maxHeaderBytes", kind: .integer(1024...1_048_576, unit: "bytes"),
                summary: "Largest header section; a larger one gets 431.",
                apply: { $0.maxHeaderBytes = $1.integerValue }, read: { .integer($0.maxHeaderBytes) }),
        Setting(key: "maxHeaderFields", kind: .integer(1...10_000, unit: "fields"),
                summary: "Most header field lines in a request; more get 431.",
                apply: { $0.maxHeaderFields = $1.integerValue }, read: { .integer($0.maxHeaderFields) }),
        Setting(key: "maxBodyBytes", kind: .integer(1024...1_073_741_824, unit: "bytes"),
                summary: "Largest request body, after gzip decoding; a larger one gets 413.",
                apply: { $0.maxBodyBytes = $1.integerValue }, read: { .integer($0.maxBodyBytes) }),
        Setting(key: "headerTimeout", kind: .integer(1...3600, unit: "seconds"),
                summary: "Time a client has to send a complete request head.",
                apply: { $0.headerTimeout = $1.integerValue }, read: { .integer($0.headerTimeout) }),
        Setting(key: "bodyTimeout", kind: .integer(1...3600, unit: "seconds"),
                summary: "Time a client has to send a complete request body.",
                apply: { $0.bodyTimeout = $1.integerValue }, read: { .integer($0.bodyTimeout) }),
        Setting(key: "keepAliveTimeout", kind: .integer(1...3600, unit: "seconds"),
                summary: "Time an idle persistent connection stays open between requests.",
                apply: { $0.keepAliveTimeout = $1.integerValue }, read: { .integer($0.keepAliveTimeout) }),
        Setting(key: "writeTimeout", kind: .integer(1...3600, unit: "seconds"),
                summary: "Time a client has to read a response before the connection is closed.",
                apply: { $0.writeTimeout = $1.integerValue }, read: { .integer($0.writeTimeout) }),
        Setting(key: "shutdownTimeout", kind: .integer(1...3600, unit: "seconds"),
                summary: "Time in-flight requests get to finish after SIGTERM or SIGINT before their connections are closed.",
                apply: { $0.shutdownTimeout = $1.integerValue }, read: { .integer($0.shutdownTimeout) }),
        Setting(key: "workflowWorkers", kind: .integer(0...1024, unit: "threads"),
                summary: "Threads that execute queued events; events of one root entity run one at a time, different roots in parallel. 0 means one fewer than the CPUs the server may run on (its affinity, not a cgroup CPU quota), at least one, so the database writer keeps a CPU.",
                apply: { $0.workflowWorkers = $1.integerValue }, read: { .integer($0.workflowWorkers) }),
        Setting(key: "executionPacing", kind: .boolean,
                summary: "Accept a burst of requests first: while requests wait for the database and pacing is measured to raise their rate, executions are paced, and the burst's events execute as it ends. false runs executions as soon as they are queued.",
                apply: { $0.executionPacing = $1.booleanValue }, read: { .boolean($0.executionPacing) }),
        Setting(key: "pacedExecutionShare", kind: .integer(1...1000, unit: "per 1,000 requests"),
                summary: "Executions that still start per 1,000 committed requests while executions are paced, so the queue never stops.",
                apply: { $0.pacedExecutionShare = $1.integerValue }, read: { .integer($0.pacedExecutionShare) }),
        Setting(key: "pacingBacklogLimit", kind: .integer(1000...1_000_000_000, unit: "events"),
                summary: "Queued events past which executions are not paced until the backlog is under half of it; it bounds the delay a burst can cost.",
                apply: { $0.pacingBacklogLimit = $1.integerValue }, read: { .integer($0.pacingBacklogLimit) }),
        Setting(key: "pacingMinimumRate", kind: .integer(0...10_000_000, unit: "requests/s"),
                summary: "Committed requests per second under which executions are never paced, however many requests wait, so a moderate load is executed as it comes. Above it, pacing is tried and kept only while it raises the request rate. 0 tries it at any rate.",
                apply: { $0.pacingMinimumRate = $1.integerValue }, read: { .integer($0.pacingMinimumRate) }),
        Setting(key: "queueMemoryLimit", kind: .integer(100...10_000_000, unit: "events"),
                summary: "Events the workflow queue holds in memory (about 1 KiB each); past it, accepted events wait PENDING in the database and are read back in order.",
                apply: { $0.queueMemoryLimit = $1.integerValue }, read: { .integer($0.queueMemoryLimit) }),
        Setting(key: "maxInlineEvents", kind: .integer(1...1_000_000, unit: "events"),
                summary: "Inline events (SendEvent to the same root) one execution may run before it fails as a loop.",
                apply: { $0.maxInlineEvents = $1.integerValue }, read: { .integer($0.maxInlineEvents) }),
        Setting(key: "maxChainDepth", kind: .integer(1...10_000, unit: "events"),
                summary: "Longest chain of events sent by workflows (inline, to another root, scheduled), counted from the posted event, before the event that would send the next one fails as a loop.",
                apply: { $0.maxChainDepth = $1.integerValue }, read: { .integer($0.maxChainDepth) }),
        Setting(key: "webhookAttempts", kind: .integer(1...100, unit: "attempts"),
                summary: "Delivery attempts per webhook, the first included, with exponential back-off between them.",
                apply: { $0.webhookAttempts = $1.integerValue }, read: { .integer($0.webhookAttempts) }),
        Setting(key: "syncTimeout", kind: .integer(1...600, unit: "seconds"),
                summary: "Longest wait of POST /event/sync for its event to be executed; past it the request gets 504.",
                apply: { $0.syncTimeout = $1.integerValue }, read: { .integer($0.syncTimeout) }),
    ]

    /// Returns the setting with `key`, or nil.
    static func setting(forKey key: String) -> Setting? {
        table.first { $0.key == key }
    }
}

extension SettingValue {
    /// The number of an `.integer` value. The table pairs integer kinds with integer fields,
    /// so any other case is a programming error.
    var integerValue: Int {
        guard case .integer(let number) = self else { preconditionFailure("\(self) is not an integer") }
        return number
    }

    var booleanValue: Bool {
        guard case .boolean(let flag) = self else { preconditionFailure("\(self) is not a boolean") }
        return flag
    }
}

/// The HTTP layer's own defaults, so `--help` shows the values the server really uses.
enum HTTPDefaults {
    static let value = HTTPServerConfiguration()
}

/// The workflow engine's own defaults.
enum EngineDefaults {
    static let value = WorkflowEngineConfiguration()
}
