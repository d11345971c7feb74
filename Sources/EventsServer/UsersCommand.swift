import Foundation
import EventsAPI
import JSON

/// `events-server users`: lists and edits the users and API clients of a users file.
enum UsersCommand {
    static let help = """
        Usage: events-server users <action> [options]

        Actions:
          list                       List the account, the users with their scope, and the API clients.
          add USERNAME               Add a user, or set a new password for an existing one.
          add-client CLIENT_ID       Add an API client, or set a new secret for an existing one.
          remove USERNAME            Remove a user.
          remove-client CLIENT_ID    Remove an API client.

        Passwords and client secrets are read from standard input (the first line) or, on a
        terminal, from a prompt; never from the command line. The file is checked with the
        server's own parser before it is replaced. A running server reads it at start only:
        restart it to apply a change.

        Options:
          --file FILE         Users file to read and change. Default: usersFile of the settings
                              (users.json in the config directory). Environment: EVENTS_USERS_FILE.
          --config DIR        Config directory. Default: Config. Environment: EVENTS_CONFIG.
          --retailers LIST    For add: comma-separated retailer ids the user is limited to.
                              Default: account-wide for a new user, unchanged for an existing one.
          --account-wide      For add: remove the user's retailer limit.
          --account ID        Account id of a new users file. Required when FILE does not exist.

          printf '%s\\n' "$PASSWORD" | events-server users add alice --retailers 1,2

        """

    static func run(_ arguments: [String], _ environment: [String: String]) -> Int32 {
        let parsed: ParsedArguments
        let path: String
        do {
            parsed = try ServerOptions.parse(arguments, command: "users", valueOptions: ["--file", "--retailers", "--account"],
                                             switches: ["--account-wide"])
            if parsed.isSet("--help") || parsed.positionals.isEmpty {
                print(help, terminator: "")
                return parsed.isSet("--help") ? ExitStatus.success : ExitStatus.usage
            }
            let settings = try SettingsResolver(arguments: parsed, environment: environment).resolve().settings
            path = parsed["--file"] ?? settings.usersFile ?? "Config/users.json"
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }

        let action = parsed.positionals[0]
        let names = Array(parsed.positionals.dropFirst())
        do {
            switch action {
            case "list":
                try requireNames(names, count: 0, action: action)
                list(try UsersFile(path: path, accountIdForNewFile: nil))
            case "add":
                try requireNames(names, count: 1, action: action)
                try addUser(names[0], path: path, options: parsed)
            case "add-client":
                try requireNames(names, count: 1, action: action)
                var file = try UsersFile(path: path, accountIdForNewFile: parsed["--account"])
                let secret = try PasswordInput.read(label: "Client secret")
                let isNew = file.setClient(names[0], secretHash: PasswordHash.make(password: secret))
                try file.save()
                print("\(isNew ? "added" : "updated") client \(names[0]) in \(path)")
            case "remove", "remove-client":
                try requireNames(names, count: 1, action: action)
                var file = try UsersFile(path: path, accountIdForNewFile: nil)
                let isUser = action == "remove"
                guard file.remove(names[0], from: isUser ? "users" : "clients", idKey: isUser ? "username" : "clientId") else {
                    throw SettingError("\(isUser ? "user" : "client") \(names[0]) not found in \(path); run events-server users list")
                }
                try file.save()
                print("removed \(isUser ? "user" : "client") \(names[0]) from \(path)")
            default:
                throw SettingError("unknown action \"\(action)\"; actions: list, add, add-client, remove, remove-client")
            }
            return ExitStatus.success
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.failure
        }
    }

    private static func addUser(_ username: String, path: String, options: ParsedArguments) throws {
        var retailers: [String]?
        if options.isSet("--account-wide") {
            guard options["--retailers"] == nil else {
                throw SettingError("give either --retailers or --account-wide, not both")
            }
            retailers = []
        } else if let list = options["--retailers"] {
            retailers = list.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !(retailers ?? []).isEmpty else {
                throw SettingError("--retailers needs at least one retailer id, such as --retailers 1,2; use --account-wide for no limit")
            }
        }

        var file = try UsersFile(path: path, accountIdForNewFile: options["--account"])
        let password = try PasswordInput.read(label: "Password")
        let isNew = file.setUser(username, passwordHash: PasswordHash.make(password: password), retailers: retailers)
        try file.save()
        print("\(isNew ? "added" : "updated") user \(username) in \(path)")
    }

    private static func list(_ file: UsersFile) {
        print("account: \(file.accountId)")
        print("users:")
        for user in file.users {
            let name = user["username"]?.stringValue ?? "?"
            let retailers = user["retailers"]?.arrayValue?.compactMap(\.stringValue)
            let scope = retailers.map { "retailers \($0.joined(separator: ", "))" } ?? "account-wide"
            print("  \(name)  (\(scope))")
        }
        print("clients:")
        for client in file.clients {
            print("  \(client["clientId"]?.stringValue ?? "?")")
        }
    }

    private static func requireNames(_ names: [String], count: Int, action: String) throws(SettingError) {
        guard names.count == count else {
            let what = count == 0 ? "no argument" : "exactly one name"
            throw SettingError("users \(action) takes \(what), got \(names.count); run events-server users --help")
        }
    }
}
