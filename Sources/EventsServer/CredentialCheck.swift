import EventsAPI
import Foundation
import Synchronization
import JSON

/// Loads the users and API clients for `serve` and decides whether the server may start with
/// them: the quick-start demo credentials (user `demo` / `demo`, client `demo` / `demo`) are
/// allowed with a warning, and refused when `requireCredentials` is set, as in the container.
struct CredentialCheck {
    static let demoName = "demo"
    static let demoPassword = "demo"

    let directory: UserDirectory
    /// The source of the users, for messages: a file path or `EVENTS_USERS_JSON`.
    let origin: String
    let userCount: Int
    let clientCount: Int
    let hasDemoUser: Bool
    let hasDemoClient: Bool

    /// Reads `usersJson` when set, else the users file.
    init(settings: ServerSettings) throws(SettingError) {
        let bytes: [UInt8]
        if let json = settings.usersJson {
            origin = "EVENTS_USERS_JSON"
            bytes = Array(json.utf8)
        } else {
            let path = settings.usersFile ?? "Config/users.json"
            origin = path
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SettingError("users file \(path) not found: create it with `events-server users add NAME --account ID --file \(path)`, point usersFile (EVENTS_USERS_FILE) at one, or set EVENTS_USERS_JSON")
            }
            bytes = Array(data)
        }

        do {
            directory = try UserDirectory.parse(bytes)
        } catch {
            throw SettingError("\(origin): \(error)")
        }
        let document = (try? JSONParser().parse(bytes))?.objectValue
        userCount = document?["users"]?.arrayValue?.count ?? 0
        clientCount = document?["clients"]?.arrayValue?.count ?? 0

        // Each check runs PBKDF2 once (about half a second at 600,000 iterations), and only for
        // an entry named demo, so the two run in parallel to keep the start short.
        let hashes = [directory.user(named: CredentialCheck.demoName)?.passwordHash,
                      directory.client(id: CredentialCheck.demoName)?.secretHash]
        let matches = DemoMatches()
        DispatchQueue.concurrentPerform(iterations: hashes.count) { index in
            guard let hash = hashes[index] else { return }
            if (try? PasswordHash.verify(password: CredentialCheck.demoPassword, against: hash)) == true {
                matches.set(index)
            }
        }
        hasDemoUser = matches.contains(0)
        hasDemoClient = matches.contains(1)
    }

    /// Throws when `requireCredentials` is set and the credentials are missing or include the
    /// public demo ones. Otherwise returns the warnings to log at start.
    func validate(requireCredentials: Bool) throws(SettingError) -> [String] {
        var problems: [String] = []
        if userCount == 0 { problems.append("no user is configured, so nobody can get a token") }
        if clientCount == 0 { problems.append("no API client is configured, so nobody can get a token") }
        if hasDemoUser { problems.append("the demo user (demo / demo) is enabled") }
        if hasDemoClient { problems.append("the demo API client (demo / demo) is enabled") }

        guard requireCredentials else {
            return problems.map { "\($0) in \(origin); fine on a workstation, never in production" }
        }
        guard problems.isEmpty else {
            throw SettingError("refusing to start because requireCredentials is set and \(problems.joined(separator: "; ")) in \(origin). Give real users and clients with EVENTS_USERS_JSON or a users file (EVENTS_USERS_FILE), made with events-server users add and add-client")
        }
        return []
    }
}

/// The indexes of the hashes that matched the demo password, filled in from several threads.
private final class DemoMatches: Sendable {
    private let indexes = Mutex<Set<Int>>([])

    func set(_ index: Int) {
        indexes.withLock { _ = $0.insert(index) }
    }

    func contains(_ index: Int) -> Bool {
        indexes.withLock { $0.contains(index) }
    }
}
