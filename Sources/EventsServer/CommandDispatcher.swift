/// Chooses the subcommand from the first argument and runs it.
enum CommandDispatcher {
    struct Command: Sendable {
        let name: String
        let summary: String
        let run: @Sendable ([String], [String: String]) -> Int32
    }

    static let commands: [Command] = [
        Command(name: "serve", summary: "Start the server (the default when no subcommand is given).",
                run: ServeCommand.run),
        Command(name: "hash-password", summary: "Print a PBKDF2-SHA256 hash of a password read from standard input or a prompt.",
                run: HashPasswordCommand.run),
        Command(name: "users", summary: "List the users and API clients of a users file, or add, update or remove one.",
                run: UsersCommand.run),
        Command(name: "validate-workflow", summary: "Check workflow files without starting the server.",
                run: ValidateWorkflowCommand.run),
        Command(name: "healthcheck", summary: "Request GET /health from the configured server; exit 0 when it responds 200.",
                run: HealthcheckCommand.run),
        Command(name: "backup", summary: "Copy the database, while the server runs, to a file (SQLite online backup).",
                run: BackupCommand.run),
        Command(name: "restore", summary: "Replace the database with a backup while the server is stopped.",
                run: RestoreCommand.run),
        Command(name: "settings", summary: "Print the effective settings and where each comes from, or the reference table.",
                run: SettingsCommand.run),
    ]

    static let usage = """
        Usage: events-server <command> [options]

        Commands:
        \(commands.map { "  \($0.name.padding(toLength: 18, withPad: " ", startingAt: 0))\($0.summary)" }.joined(separator: "\n"))

        Run events-server <command> --help for the options of a command.

        """

    static func run(_ arguments: [String], environment: [String: String]) -> Int32 {
        guard let first = arguments.first else {
            return ServeCommand.run([], environment)
        }
        if first == "--help" || first == "-h" || first == "help" {
            print(usage, terminator: "")
            return ExitStatus.success
        }
        if first.hasPrefix("--") {
            return ServeCommand.run(arguments, environment)
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            CommandOutput.error("unknown command \"\(first)\"; commands: \(commands.map(\.name).joined(separator: ", ")). Run events-server --help")
            return ExitStatus.usage
        }
        return command.run(Array(arguments.dropFirst()), environment)
    }
}

/// Exit statuses shared by the subcommands.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
}
