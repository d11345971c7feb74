import JSON

/// One typed setting value, parsed from `Config/server.json`, an environment variable or a flag.
enum SettingValue: Sendable, Equatable, CustomStringConvertible {
    case text(String)
    case integer(Int)
    case boolean(Bool)

    var description: String {
        switch self {
        case .text(let text): return text
        case .integer(let number): return String(number)
        case .boolean(let flag): return flag ? "true" : "false"
        }
    }
}

/// The type and accepted range of a setting, which also decide how `--help` describes it.
enum SettingKind: Sendable {
    /// Free text, such as a host name.
    case text
    /// A file system path, relative to the working directory unless absolute.
    case path
    /// One of a fixed list of words.
    case choice([String])
    /// A whole number in `range`, measured in `unit` (seconds, bytes, threads, ...).
    case integer(ClosedRange<Int>, unit: String)
    /// `true` or `false` (`1`/`0` and `yes`/`no` too, in the environment and on the command line).
    case boolean

    /// The unit shown in `--help`, or nil for settings that have none.
    var unit: String? {
        if case .integer(_, let unit) = self { return unit }
        return nil
    }

    /// Parses text from an environment variable or a flag. `origin` names where it came from.
    func parse(text: String, key: String, origin: String) throws(SettingError) -> SettingValue {
        switch self {
        case .text, .path:
            guard !text.isEmpty else {
                throw SettingError("\(key) must not be empty (from \(origin))")
            }
            return .text(text)
        case .choice(let words):
            guard words.contains(text) else {
                throw SettingError("\(key) must be one of \(words.joined(separator: ", ")), got \"\(text)\" (from \(origin))")
            }
            return .text(text)
        case .integer(let range, _):
            guard let number = Int(text), range.contains(number) else {
                throw SettingError("\(key) must be an integer between \(range.lowerBound) and \(range.upperBound), got \"\(text)\" (from \(origin))")
            }
            return .integer(number)
        case .boolean:
            switch text.lowercased() {
            case "true", "1", "yes": return .boolean(true)
            case "false", "0", "no": return .boolean(false)
            default:
                throw SettingError("\(key) must be true or false, got \"\(text)\" (from \(origin))")
            }
        }
    }

    /// Parses a member of `server.json`, which must have the JSON type of the setting.
    func parse(json: JSONValue, key: String, origin: String) throws(SettingError) -> SettingValue {
        switch (self, json) {
        case (.text, .string(let text)), (.path, .string(let text)), (.choice, .string(let text)):
            return try parse(text: text, key: key, origin: origin)
        case (.integer(let range, _), .integer(let number)):
            guard range.contains(Int(number)) else {
                throw SettingError("\(key) must be an integer between \(range.lowerBound) and \(range.upperBound), got \(number) (from \(origin))")
            }
            return .integer(Int(number))
        case (.boolean, .bool(let flag)):
            return .boolean(flag)
        default:
            throw SettingError("\(key) must be \(expectedJSONType), got \(json.typeName) (from \(origin))")
        }
    }

    private var expectedJSONType: String {
        switch self {
        case .text, .path, .choice: return "a string"
        case .integer: return "an integer"
        case .boolean: return "true or false"
        }
    }
}

/// A setting of the server: its key in `server.json`, its flag, its environment variable, its
/// type and how it changes `ServerSettings`.
struct Setting: Sendable {
    let key: String
    let kind: SettingKind
    /// The description of the value for `--help` and the configuration reference.
    let summary: String
    /// Describes the default when it is not a fixed value (a path inside the config directory).
    let defaultDescription: String?
    let apply: @Sendable (inout ServerSettings, SettingValue) -> Void
    let read: @Sendable (ServerSettings) -> SettingValue

    init(key: String, kind: SettingKind, summary: String, defaultDescription: String? = nil,
         apply: @escaping @Sendable (inout ServerSettings, SettingValue) -> Void,
         read: @escaping @Sendable (ServerSettings) -> SettingValue) {
        self.key = key
        self.kind = kind
        self.summary = summary
        self.defaultDescription = defaultDescription
        self.apply = apply
        self.read = read
    }

    /// `--max-body-bytes` for the key `maxBodyBytes`.
    var flag: String {
        "--" + Setting.words(of: key).joined(separator: "-")
    }

    /// `EVENTS_MAX_BODY_BYTES` for the key `maxBodyBytes`.
    var environmentName: String {
        "EVENTS_" + Setting.words(of: key).joined(separator: "_").uppercased()
    }

    /// The built-in default, used when neither the file, the environment nor a flag sets it.
    var defaultValue: SettingValue {
        read(ServerSettings())
    }

    /// The default as `--help` shows it.
    var defaultText: String {
        defaultDescription ?? defaultValue.description
    }

    /// Splits a camel-case key into lower-case words: `maxBodyBytes` gives max, body, bytes.
    static func words(of key: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in key {
            if character.isUppercase, !current.isEmpty {
                words.append(current)
                current = ""
            }
            current.append(Character(character.lowercased()))
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}

/// A setting that cannot be used, with a message that names it, the value and what is accepted.
struct SettingError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
