import Foundation

// The `events-server` executable: one subcommand per job. Exit status 0 is success, 1 a failure
// of the job (an unhealthy server, a failed backup), 2 a usage or configuration error.

let arguments = Array(CommandLine.arguments.dropFirst())
let status = CommandDispatcher.run(arguments, environment: ProcessInfo.processInfo.environment)
exit(status)
