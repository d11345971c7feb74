import Foundation
import Glibc

/// `events-server healthcheck`: the container's HEALTHCHECK. Requests `GET /health` (or
/// `/ready`) from the server that the same settings configure, and exits 0 on a 200 and 1 on
/// anything else, printing why.
enum HealthcheckCommand {
    static let help = """
        Usage: events-server healthcheck [--ready] [--timeout SECONDS] [--host HOST] [--port PORT] [--config DIR]

        Sends GET /health to the server at the configured host and port (server.json, EVENTS_HOST
        and EVENTS_PORT, or the flags) and exits 0 when it responds 200, 1 otherwise. A server
        listening on 0.0.0.0 or :: is reached on 127.0.0.1 or ::1.

          --ready            Request GET /ready instead: database writable, workflows loaded,
                             queue running. Default: GET /health (the process serves).
          --timeout SECONDS  Time allowed to connect and read the response. Unit: seconds. Default: 3.
          --host HOST        Server address. Default: 127.0.0.1. Environment: EVENTS_HOST.
          --port PORT        Server port. Default: 8080. Environment: EVENTS_PORT.
          --config DIR       Config directory holding server.json. Default: Config. Environment: EVENTS_CONFIG.

        """

    static func run(_ arguments: [String], _ environment: [String: String]) -> Int32 {
        let parsed: ParsedArguments
        let settings: ServerSettings
        let timeout: Int
        do {
            parsed = try ServerOptions.parse(arguments, command: "healthcheck", valueOptions: ["--timeout"], switches: ["--ready"])
            if parsed.isSet("--help") {
                print(help, terminator: "")
                return ExitStatus.success
            }
            settings = try SettingsResolver(arguments: parsed, environment: environment).resolve().settings
            let timeoutText = parsed["--timeout"] ?? "3"
            guard let seconds = Int(timeoutText), (1...300).contains(seconds) else {
                throw SettingError("--timeout must be an integer between 1 and 300 seconds, got \"\(timeoutText)\"")
            }
            timeout = seconds
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }

        var host = settings.host
        if host == "0.0.0.0" { host = "127.0.0.1" }
        if host == "::" || host == "[::]" { host = "::1" }
        let path = parsed.isSet("--ready") ? "/ready" : "/health"
        do {
            let status = try HealthProbe(host: host, port: settings.port, timeoutSeconds: timeout).get(path: path)
            guard status == 200 else {
                CommandOutput.error("GET \(path) on \(host):\(settings.port) responded \(status)")
                return ExitStatus.failure
            }
            return ExitStatus.success
        } catch {
            CommandOutput.error("GET \(path) on \(host):\(settings.port) failed: \(error)")
            return ExitStatus.failure
        }
    }
}
