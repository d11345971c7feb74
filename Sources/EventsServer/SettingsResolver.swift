import Foundation
import JSON

/// Builds `ServerSettings` from the defaults, `server.json` in the config directory, the
/// `EVENTS_*` environment variables and the command-line flags, in that order of precedence.
struct SettingsResolver {
    /// The environment variables that are not settings of the table but are still ours.
    static let otherEnvironmentNames: Set<String> = ["EVENTS_CONFIG"]

    /// The directory of `server.json`, `users.json` and `workflows/`.
    let configDirectory: String
    let environment: [String: String]
    let arguments: ParsedArguments

    /// The option that names the config directory, with its environment variable and default.
    static let configFlag = "--config"
    static let configEnvironmentName = "EVENTS_CONFIG"
    static let defaultConfigDirectory = "Config"

    init(arguments: ParsedArguments, environment: [String: String]) {
        self.arguments = arguments
        self.environment = environment
        self.configDirectory = arguments[SettingsResolver.configFlag]
            ?? environment[SettingsResolver.configEnvironmentName]
            ?? SettingsResolver.defaultConfigDirectory
    }

    var serverFilePath: String { configDirectory + "/server.json" }

    private var isConfigDirectoryExplicit: Bool {
        arguments[SettingsResolver.configFlag] != nil || environment[SettingsResolver.configEnvironmentName] != nil
    }

    /// Resolves every setting and returns it with where each value came from (`default`, the
    /// file, the variable or the flag). Throws on the first setting that is unknown, of the wrong
    /// type or out of range, naming it.
    func resolve() throws(SettingError) -> (settings: ServerSettings, origins: [String: String]) {
        var settings = ServerSettings()
        var origins: [String: String] = [:]

        for (key, value) in try readServerFile() {
            guard let setting = ServerSettings.setting(forKey: key) else {
                throw SettingError("unknown setting \"\(key)\" in \(serverFilePath); known settings: \(ServerSettings.table.map(\.key).joined(separator: ", "))")
            }
            setting.apply(&settings, try setting.kind.parse(json: value, key: key, origin: serverFilePath))
            origins[key] = serverFilePath
        }

        try checkEnvironmentNames()
        for setting in ServerSettings.table {
            guard let text = environment[setting.environmentName] else { continue }
            let origin = "environment variable \(setting.environmentName)"
            setting.apply(&settings, try setting.kind.parse(text: text, key: setting.key, origin: origin))
            origins[setting.key] = origin
        }

        for setting in ServerSettings.table {
            guard let text = arguments[setting.flag] else { continue }
            let origin = "flag \(setting.flag)"
            setting.apply(&settings, try setting.kind.parse(text: text, key: setting.key, origin: origin))
            origins[setting.key] = origin
        }

        if settings.workflowsDir == nil { settings.workflowsDir = configDirectory + "/workflows" }
        if settings.usersFile == nil { settings.usersFile = configDirectory + "/users.json" }
        return (settings, origins)
    }

    /// Reads the members of `server.json`, or returns none when the file does not exist.
    private func readServerFile() throws(SettingError) -> [(String, JSONValue)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: configDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            // Without Config/ in the working directory the defaults apply; a directory that
            // was named explicitly must exist.
            guard isConfigDirectoryExplicit else { return [] }
            throw SettingError("config directory \(configDirectory) does not exist; pass an existing directory to --config or set EVENTS_CONFIG")
        }
        guard FileManager.default.fileExists(atPath: serverFilePath) else { return [] }

        guard let data = FileManager.default.contents(atPath: serverFilePath) else {
            throw SettingError("cannot read \(serverFilePath); check its permissions")
        }
        let document: JSONValue
        do {
            document = try JSONParser().parse(Array(data))
        } catch {
            throw SettingError("\(serverFilePath) is not valid JSON: \(error)")
        }
        guard case .object(let object) = document else {
            throw SettingError("\(serverFilePath) must contain a JSON object of settings, got \(document.typeName)")
        }
        return object.members.map { ($0.key, $0.value) }
    }

    /// Rejects an `EVENTS_*` variable that names no setting, since it is almost always a typo
    /// that would otherwise be ignored.
    private func checkEnvironmentNames() throws(SettingError) {
        let known = Set(ServerSettings.table.map(\.environmentName)).union(SettingsResolver.otherEnvironmentNames)
        for name in environment.keys.sorted() where name.hasPrefix("EVENTS_") && !known.contains(name) {
            throw SettingError("unknown environment variable \(name); known variables: \(known.sorted().joined(separator: ", "))")
        }
    }
}
