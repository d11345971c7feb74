import JSON

/// The cause of a failed execution. The event ends FAILED and only its exception audit is kept.
struct ExecutionFailure: Error {
    /// The exception audit's name: what kind of failure this is.
    enum Kind: String {
        case invalidEvent = "InvalidEvent"
        case workflowNotFound = "WorkflowNotFound"
        case rootNotResolved = "RootNotResolved"
        case entityConflict = "EntityConflict"
        case contractViolation = "EventContractViolation"
        case ruleFailed = "RuleFailed"
        case loopLimit = "ExecutionLimitExceeded"
        case storage = "StorageError"
    }

    var kind: Kind
    var message: String
    var ruleSet: String?
    var rule: String?
    /// Extra `{name, type, value}` attributes for the audit (the attribute and expected type, ...).
    var details: [(String, JSONValue)] = []

    init(_ kind: Kind, _ message: String, ruleSet: String? = nil, rule: String? = nil, details: [(String, JSONValue)] = []) {
        self.kind = kind
        self.message = message
        self.ruleSet = ruleSet
        self.rule = rule
        self.details = details
    }
}

/// A `RaiseException` rule ran: Fluent's RuleExecutionException.
struct RaisedException: Error {
    var message: String
}
