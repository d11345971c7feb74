/// A workflow file that cannot be loaded, with where the problem is.
public struct WorkflowLoadError: Error, Sendable, CustomStringConvertible {
    public var file: String
    /// The workflow name, when the file got that far.
    public var workflow: String?
    /// The ruleset name and its position (from 1) in `rulesets`.
    public var ruleset: String?
    /// The rule name and its position (from 1) in `rules`.
    public var rule: String?
    public var message: String
    /// Set for an unknown rule: the rules this server has.
    public var knownRules: [String]

    public init(file: String, workflow: String? = nil, ruleset: String? = nil, rule: String? = nil, message: String,
                knownRules: [String] = []) {
        self.file = file
        self.workflow = workflow
        self.ruleset = ruleset
        self.rule = rule
        self.message = message
        self.knownRules = knownRules
    }

    public var description: String {
        var location = [file]
        if let workflow { location.append("workflow \(workflow)") }
        if let ruleset { location.append("ruleset \(ruleset)") }
        if let rule { location.append("rule \(rule)") }
        var text = location.joined(separator: ", ") + ": " + message
        if !knownRules.isEmpty {
            text += "; known rules: " + knownRules.joined(separator: ", ")
        }
        return text
    }
}
