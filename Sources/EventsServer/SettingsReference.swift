import Foundation

/// Text generated from `ServerSettings.table`: the options part of `serve --help` and the
/// Markdown table of `docs/operations.md`, so the two never disagree.
enum SettingsReference {
    /// Writes one block per setting: flag, variable, file key, then what it sets, its unit and default.
    static func helpText() -> String {
        var text = ""
        for setting in ServerSettings.table {
            // A boolean flag is a switch: its value, when given, follows an equals sign.
            let separator = if case .boolean = setting.kind { "" } else { " " }
            text += "  \(setting.flag)\(separator)\(placeholder(for: setting))\n"
            text += "      \(setting.summary)\n"
            var facts: [String] = []
            if let unit = setting.kind.unit { facts.append("Unit: \(unit).") }
            facts.append("Default: \(setting.defaultText).")
            facts.append("Environment: \(setting.environmentName). server.json: \"\(setting.key)\".")
            text += "      \(facts.joined(separator: " "))\n"
        }
        return text
    }

    /// Writes the configuration reference as a Markdown table.
    static func markdownTable() -> String {
        var text = "| server.json key | flag | environment variable | unit | default | sets |\n"
        text += "|---|---|---|---|---|---|\n"
        for setting in ServerSettings.table {
            let unit = setting.kind.unit ?? allowedValues(for: setting)
            let summary = setting.summary.replacingOccurrences(of: "|", with: "\\|")
            text += "| `\(setting.key)` | `\(setting.flag)` | `\(setting.environmentName)` | \(unit) | \(setting.defaultDescription ?? "`\(setting.defaultValue)`") | \(summary) |\n"
        }
        return text
    }

    private static func placeholder(for setting: Setting) -> String {
        switch setting.kind {
        case .text: return "TEXT"
        case .path: return "PATH"
        case .choice(let words): return words.joined(separator: "|")
        case .integer: return "N"
        case .boolean: return "[=true|false]"
        }
    }

    private static func allowedValues(for setting: Setting) -> String {
        switch setting.kind {
        case .choice(let words): return words.joined(separator: ", ")
        case .boolean: return "true, false"
        case .text: return "text"
        case .path: return "path"
        case .integer: return "integer"
        }
    }
}
