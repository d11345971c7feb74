import EventStore
import Foundation

/// `events-server backup --to FILE`: an online copy of the database, safe while the server runs.
enum BackupCommand {
    static let help = """
        Usage: events-server backup --to FILE [--force] [--data-dir DIR] [--config DIR]

        Copies the database (DATA-DIR/events.sqlite) to FILE with SQLite's online backup API.
        The server may keep running: the copy is one consistent snapshot and writers are not
        blocked. FILE is a self-contained SQLite database (rollback journal, no -wal file),
        checked with PRAGMA quick_check before it replaces anything. To restore, stop the server
        and run events-server restore --from FILE.

          --to FILE        Backup file to write. Required.
          --force          Replace FILE when it exists. Default: an existing FILE is an error.
          --data-dir DIR   Data directory holding events.sqlite. Default: data, or dataDir of
                           server.json, or EVENTS_DATA_DIR.
          --config DIR     Config directory holding server.json. Default: Config. Environment: EVENTS_CONFIG.

        """

    static func run(_ arguments: [String], _ environment: [String: String]) -> Int32 {
        let parsed: ParsedArguments
        let settings: ServerSettings
        do {
            parsed = try ServerOptions.parse(arguments, command: "backup", valueOptions: ["--to"], switches: ["--force"])
            if parsed.isSet("--help") {
                print(help, terminator: "")
                return ExitStatus.success
            }
            settings = try SettingsResolver(arguments: parsed, environment: environment).resolve().settings
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }
        guard let destination = parsed["--to"], !destination.isEmpty else {
            CommandOutput.error("missing --to FILE: name the backup file to write")
            return ExitStatus.usage
        }

        let started = Date()
        do {
            let summary = try DatabaseBackup.copy(databaseAt: settings.databasePath, to: destination,
                                                  overwrite: parsed.isSet("--force"))
            let seconds = Date().timeIntervalSince(started)
            print("backed up \(settings.databasePath) to \(destination): \(summary.pageCount) pages, \(summary.byteCount) bytes, schema version \(summary.schemaVersion), \(String(format: "%.2f", seconds)) s")
            return ExitStatus.success
        } catch {
            CommandOutput.error("backup failed: \(error)")
            return ExitStatus.failure
        }
    }
}
