import Workflow

/// `events-server validate-workflow FILE...`: checks workflow files with the same loader the
/// server uses at start, without opening the database.
enum ValidateWorkflowCommand {
    static let help = """
        Usage: events-server validate-workflow FILE...

        Checks each workflow file (Fluent's JSON format) as the server does at start: JSON syntax,
        known rules, required and typed props, triggers and statuses. Prints one line per valid
        file and its warnings; an error names the file, workflow, ruleset and rule. Exits 0 when
        every file is valid (warnings allowed), 1 when any is not.

        """

    static func run(_ arguments: [String], _ environment: [String: String]) -> Int32 {
        let parsed: ParsedArguments
        do {
            parsed = try ParsedArguments(arguments, command: "validate-workflow", valueOptions: [], switches: ["--help"])
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }
        if parsed.isSet("--help") {
            print(help, terminator: "")
            return ExitStatus.success
        }
        guard !parsed.positionals.isEmpty else {
            CommandOutput.error("missing FILE: name one or more workflow files, for example Config/workflows/ORDER-HD.json")
            return ExitStatus.usage
        }

        var invalidCount = 0
        for path in parsed.positionals {
            do {
                let workflow = try WorkflowLoader.validate(file: path)
                let rules = workflow.rulesets.reduce(0) { $0 + $1.rules.count }
                print("\(path): valid: workflow \(workflow.name) version \(workflow.version) for retailer \(workflow.retailerId), \(workflow.rulesets.count) rulesets, \(rules) rules")
                for warning in workflow.warnings {
                    print("\(path): warning: \(warning)")
                }
            } catch {
                invalidCount += 1
                CommandOutput.error("\(path): invalid: \(error)")
            }
        }
        return invalidCount == 0 ? ExitStatus.success : ExitStatus.failure
    }
}
