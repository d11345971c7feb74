import EventStore
import Foundation
import Glibc
import Telemetry

/// `events-server restore --from FILE`: replaces the database with a backup while no server runs.
enum RestoreCommand {
    static let help = """
        Usage: events-server restore --from FILE [--data-dir DIR] [--config DIR]

        Replaces the database (DATA-DIR/events.sqlite) with a backup made by events-server
        backup. The server must be stopped: restore takes the same data directory lock as serve
        and fails while a server holds it. The backup is copied and checked with PRAGMA
        quick_check before anything is replaced. The previous database and its -wal and -shm
        files are kept beside it as events.sqlite.replaced-<UTC time>, since a -wal file left
        next to the restored database would corrupt it.

          --from FILE      Backup file to restore. Required.
          --data-dir DIR   Data directory holding events.sqlite. Default: data, or dataDir of
                           server.json, or EVENTS_DATA_DIR.
          --config DIR     Config directory holding server.json. Default: Config. Environment: EVENTS_CONFIG.

        """

    static func run(_ arguments: [String], _ environment: [String: String]) -> Int32 {
        let parsed: ParsedArguments
        let settings: ServerSettings
        do {
            parsed = try ServerOptions.parse(arguments, command: "restore", valueOptions: ["--from"])
            if parsed.isSet("--help") {
                print(help, terminator: "")
                return ExitStatus.success
            }
            settings = try SettingsResolver(arguments: parsed, environment: environment).resolve().settings
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }
        guard let source = parsed["--from"], !source.isEmpty else {
            CommandOutput.error("missing --from FILE: name the backup file to restore")
            return ExitStatus.usage
        }

        do {
            try FileManager.default.createDirectory(atPath: settings.dataDir, withIntermediateDirectories: true)
            let lock = try DataDirectoryLock(dataDirectory: settings.dataDir)
            defer { withExtendedLifetime(lock) {} }

            let database = settings.databasePath
            let incoming = database + ".restoring"
            let summary = try DatabaseBackup.copy(databaseAt: source, to: incoming, overwrite: true)

            var keptAs: String?
            if FileManager.default.fileExists(atPath: database) {
                let stamp = TimeFormat.fileStamp()
                let previous = database + ".replaced-" + stamp
                for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: database + suffix) {
                    try FileManager.default.moveItem(atPath: database + suffix, toPath: previous + suffix)
                }
                keptAs = previous
            }
            guard rename(incoming, database) == 0 else {
                throw SettingError("cannot rename \(incoming) to \(database): \(String(cString: strerror(errno)))")
            }

            print("restored \(source) to \(database): \(summary.pageCount) pages, \(summary.byteCount) bytes, schema version \(summary.schemaVersion)")
            if let keptAs { print("the previous database is kept as \(keptAs)") }
            return ExitStatus.success
        } catch {
            CommandOutput.error("restore failed: \(error)")
            return ExitStatus.failure
        }
    }
}

extension TimeFormat {
    /// Formats the current UTC time as `20261204T103000Z`, for file names.
    static func fileStamp() -> String {
        let text = iso8601(milliseconds: nowMilliseconds())
        return String(text.prefix(19).filter { $0 != "-" && $0 != ":" }) + "Z"
    }
}
