import Telemetry
import Workflow

/// `events-server serve`: resolves the settings, sets up logging and runs the server until
/// SIGTERM or SIGINT.
enum ServeCommand {
    static let noDemoCredentialsFlag = "--no-demo-credentials"

    static var help: String {
        """
        Usage: events-server serve [options]

        Starts the Events API server. Settings come from server.json in the config directory,
        then EVENTS_* environment variables, then these flags, each overriding the one before.
        The first log line says `listening on http://HOST:PORT` with the bound port. SIGTERM or
        SIGINT drains in-flight requests, finishes running executions and closes the database;
        a second signal exits at once.

          --config DIR
              Config directory holding server.json, users.json and workflows/.
              Default: Config. Environment: EVENTS_CONFIG.
          \(noDemoCredentialsFlag)
              Same as --require-credentials: refuse to start with the demo credentials or none.
        \(SettingsReference.helpText())
        """
    }

    static func run(_ arguments: [String], _ environment: [String: String]) -> Int32 {
        var settings: ServerSettings
        do {
            let parsed = try ServerOptions.parse(arguments, command: "serve", switches: [noDemoCredentialsFlag])
            if parsed.isSet("--help") {
                print(help, terminator: "")
                return ExitStatus.success
            }
            guard parsed.positionals.isEmpty else {
                throw SettingError("serve takes no arguments, got \(parsed.positionals.joined(separator: " ")); run events-server serve --help")
            }
            settings = try SettingsResolver(arguments: parsed, environment: environment).resolve().settings
            if parsed.isSet(noDemoCredentialsFlag) { settings.requireCredentials = true }
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }

        // The settings table only admits known level and format names.
        let startupLog = StartupLogBuffer()
        LogSink.shared.configure(level: LogLevel(name: settings.logLevel) ?? .info,
                                 format: LogFormat(rawValue: settings.logFormat) ?? .logfmt,
                                 output: startupLog.output)
        let logger = Logger(label: "server")
        if MallocArenas.limit(environment: environment) == nil, environment["MALLOC_ARENA_MAX"] == nil {
            logger.warning("could not limit the malloc arenas; peak memory may be higher", [])
        }

        let runtime = ServerRuntime(settings: settings, logger: logger)
        do {
            try runtime.start(startupLog: startupLog)
        } catch {
            logger.error("start failed", [("error", "\(error)")])
            startupLog.release(firstMarker: "listening on")
            // A setting or file to fix is a usage error; a busy port or a disk error is not.
            return error is SettingError || error is WorkflowLoadError ? ExitStatus.usage : ExitStatus.failure
        }
        runtime.runUntilStopped()
        return ExitStatus.success
    }
}
