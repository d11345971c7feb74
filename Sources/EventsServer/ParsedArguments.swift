/// Command-line options and positional arguments of one subcommand.
///
/// Options are `--name value` or `--name=value`; a switch is `--name` alone (`--name=false`
/// turns it off). `--` ends the options. Unknown options are rejected with the subcommand's name,
/// so a typo never goes unnoticed.
struct ParsedArguments {
    private(set) var values: [String: String] = [:]
    /// Options in the order given, for error messages that name the flag.
    private(set) var order: [String] = []
    private(set) var positionals: [String] = []

    /// Parses `arguments` (without the subcommand itself). `valueOptions` take a value;
    /// `switches` take none and read as "true".
    init(_ arguments: [String], command: String, valueOptions: Set<String>, switches: Set<String>) throws(SettingError) {
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1

            // -h is the one short option, as most command-line tools accept it for help.
            if !optionsEnded && argument == "-h" && switches.contains("--help") {
                values["--help"] = "true"
                order.append("--help")
                continue
            }

            guard !optionsEnded, argument.hasPrefix("--"), argument.count > 2 else {
                if argument == "--" && !optionsEnded {
                    optionsEnded = true
                } else {
                    positionals.append(argument)
                }
                continue
            }

            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }

            let value: String
            if switches.contains(name) {
                value = inlineValue ?? "true"
            } else if valueOptions.contains(name) {
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw SettingError("option \(name) needs a value; run events-server \(command) --help")
                    }
                    value = arguments[index]
                    index += 1
                }
            } else {
                throw SettingError("unknown option \(name) for events-server \(command); run events-server \(command) --help")
            }

            guard values[name] == nil else {
                throw SettingError("option \(name) is given twice; give it once")
            }
            values[name] = value
            order.append(name)
        }
    }

    subscript(name: String) -> String? {
        values[name]
    }

    /// True when the switch `name` was given and not set to false.
    func isSet(_ name: String) -> Bool {
        guard let value = values[name] else { return false }
        return !["false", "0", "no"].contains(value.lowercased())
    }
}
