import EventsAPI

/// `events-server hash-password`: prints the stored form of a password hash for a users file.
enum HashPasswordCommand {
    static let help = """
        Usage: events-server hash-password [--iterations N]

        Reads a password from standard input (the first line) or, on a terminal, from a prompt
        with echo off, and prints its PBKDF2-HMAC-SHA256 hash in the form the users file stores:
        pbkdf2-sha256$<iterations>$<salt>$<hash>. The password is never taken from the command
        line, where the process list and the shell history would show it.

          printf '%s' "$PASSWORD" | events-server hash-password

          --iterations N   PBKDF2 iterations. Unit: iterations. Default: \(PasswordHash.defaultIterations).
                           More make guessing slower and each token request slower too.

        """

    static func run(_ arguments: [String], _ environment: [String: String]) -> Int32 {
        let iterations: Int
        do {
            let parsed = try ParsedArguments(arguments, command: "hash-password", valueOptions: ["--iterations"], switches: ["--help"])
            if parsed.isSet("--help") {
                print(help, terminator: "")
                return ExitStatus.success
            }
            guard parsed.positionals.isEmpty else {
                throw SettingError("hash-password takes no password argument; pipe the password into standard input instead")
            }
            let text = parsed["--iterations"] ?? String(PasswordHash.defaultIterations)
            guard let number = Int(text), (1000...10_000_000).contains(number) else {
                throw SettingError("--iterations must be an integer between 1000 and 10000000, got \"\(text)\"")
            }
            iterations = number
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.usage
        }

        do {
            let password = try PasswordInput.read(label: "Password")
            print(PasswordHash.make(password: password, iterations: iterations))
            return ExitStatus.success
        } catch {
            CommandOutput.error("\(error)")
            return ExitStatus.failure
        }
    }
}
