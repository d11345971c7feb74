/// `events-server settings`: prints each effective setting with where its value came from, or
/// with `--markdown` the reference table of every setting.
enum SettingsCommand {
    static let help = """
        Usage: events-server settings [--config DIR] [--markdown] [setting flags]

        Prints every setting serve would use, with its value and where the value comes from
        (default, server.json, an EVENTS_* variable or a flag). The users document given by
        usersJson is not printed, only its size.

          --config DIR   Config directory holding server.json. Default: Config. Environment: EVENTS_CONFIG.
          --markdown     Print the reference table of all settings in Markdown instead.

        """

    static func run(_ arguments: [String], _ environment: [String: String]) -> Int32 {
        let parsed: ParsedArguments
        do {
            parsed = try ServerOptions.parse(arguments, command: "settings", switches: ["--markdown"])
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }
        if parsed.isSet("--help") {
            print(help, terminator: "")
            return ExitStatus.success
        }
        if parsed.isSet("--markdown") {
            print(SettingsReference.markdownTable(), terminator: "")
            return ExitStatus.success
        }

        let resolver = SettingsResolver(arguments: parsed, environment: environment)
        do {
            let (settings, origins) = try resolver.resolve()
            print("config directory: \(resolver.configDirectory)")
            for setting in ServerSettings.table {
                var value = setting.read(settings).description
                if setting.key == "usersJson" {
                    value = settings.usersJson.map { "set (\($0.utf8.count) bytes)" } ?? "unset"
                }
                print("\(setting.key) = \(value)  (\(origins[setting.key] ?? "default"))")
            }
            return ExitStatus.success
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }
    }
}
