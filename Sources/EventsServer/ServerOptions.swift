/// The options shared by the subcommands that read the server's settings: one flag per
/// setting of `ServerSettings.table`, `--config` and `--help`.
enum ServerOptions {
    static func parse(_ arguments: [String], command: String, valueOptions: Set<String> = [],
                      switches: Set<String> = []) throws(SettingError) -> ParsedArguments {
        var values = Set(ServerSettings.table.filter { !isBoolean($0) }.map(\.flag))
        values.insert(SettingsResolver.configFlag)
        values.formUnion(valueOptions)

        var allSwitches = Set(ServerSettings.table.filter(isBoolean).map(\.flag))
        allSwitches.insert("--help")
        allSwitches.formUnion(switches)
        return try ParsedArguments(arguments, command: command, valueOptions: values, switches: allSwitches)
    }

    private static func isBoolean(_ setting: Setting) -> Bool {
        if case .boolean = setting.kind { return true }
        return false
    }
}
