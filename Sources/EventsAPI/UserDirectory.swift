import Foundation
import JSON

/// The users and API clients allowed to get tokens, loaded from `Config/users.json`:
///
/// ```json
/// {
///   "accountId": "ACME",
///   "users": [
///     {"username": "demo", "passwordHash": "pbkdf2-sha256$600000$...$..."},
///     {"username": "retailer1", "passwordHash": "pbkdf2-sha256$...", "retailers": ["1"]}
///   ],
///   "clients": [{"clientId": "demo", "secretHash": "pbkdf2-sha256$600000$...$..."}]
/// }
/// ```
///
/// A user without `retailers` is account-wide. A user with `retailers` reads and posts events
/// of those retailers only. Hashes are made by `PasswordHash.make(password:)`.
public struct UserDirectory: Sendable {
    public struct User: Sendable, Equatable {
        public var username: String
        public var passwordHash: String
        /// nil for an account-wide user.
        public var retailerIds: [String]?

        public init(username: String, passwordHash: String, retailerIds: [String]? = nil) {
            self.username = username
            self.passwordHash = passwordHash
            self.retailerIds = retailerIds
        }
    }

    public struct Client: Sendable, Equatable {
        public var clientId: String
        public var secretHash: String

        public init(clientId: String, secretHash: String) {
            self.clientId = clientId
            self.secretHash = secretHash
        }
    }

    public let accountId: String
    private let users: [String: User]
    private let clients: [String: Client]

    public init(accountId: String, users: [User], clients: [Client]) throws {
        self.accountId = accountId
        var usersByName: [String: User] = [:]
        for (index, user) in users.enumerated() {
            guard usersByName[user.username] == nil else {
                throw UserDirectoryError("$.users[\(index)].username: user \"\(user.username)\" is listed twice")
            }
            do {
                try PasswordHash.validate(user.passwordHash)
            } catch {
                throw UserDirectoryError("$.users[\(index)].passwordHash: \(error)")
            }
            usersByName[user.username] = user
        }
        var clientsByID: [String: Client] = [:]
        for (index, client) in clients.enumerated() {
            guard clientsByID[client.clientId] == nil else {
                throw UserDirectoryError("$.clients[\(index)].clientId: client \"\(client.clientId)\" is listed twice")
            }
            do {
                try PasswordHash.validate(client.secretHash)
            } catch {
                throw UserDirectoryError("$.clients[\(index)].secretHash: \(error)")
            }
            clientsByID[client.clientId] = client
        }
        self.users = usersByName
        self.clients = clientsByID
    }

    /// Loads and validates the file at `path`.
    /// - Throws: `UserDirectoryError` naming the file and the JSON path of the first problem.
    public static func load(path: String) throws -> UserDirectory {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserDirectoryError("cannot read \(path): the file is missing or unreadable")
        }
        do {
            return try parse(Array(data))
        } catch let error as UserDirectoryError {
            throw UserDirectoryError("\(path): \(error.message)")
        }
    }

    /// Parses the JSON text of a users file.
    public static func parse(_ bytes: [UInt8]) throws -> UserDirectory {
        let root: JSONValue
        do {
            root = try JSONParser().parse(bytes)
        } catch {
            throw UserDirectoryError("invalid JSON: \(error)")
        }
        guard let object = root.objectValue else {
            throw UserDirectoryError("$: expected an object with accountId, users and clients")
        }
        try rejectUnknownKeys(object, allowed: ["accountId", "users", "clients"], path: "$")
        guard let accountId = object["accountId"]?.stringValue, !accountId.isEmpty else {
            throw UserDirectoryError("$.accountId: expected a non-empty string such as \"ACME\"")
        }

        var users: [User] = []
        for (index, value) in try array(object["users"], path: "$.users").enumerated() {
            let path = "$.users[\(index)]"
            guard let entry = value.objectValue else { throw UserDirectoryError("\(path): expected an object") }
            try rejectUnknownKeys(entry, allowed: ["username", "passwordHash", "retailers"], path: path)
            let username = try string(entry["username"], path: path + ".username")
            let hash = try string(entry["passwordHash"], path: path + ".passwordHash")
            var retailerIds: [String]?
            if let retailers = entry["retailers"], retailers != .null {
                let list = try array(retailers, path: path + ".retailers")
                guard !list.isEmpty else {
                    throw UserDirectoryError("\(path).retailers: expected at least one retailer id; omit the key for an account-wide user")
                }
                retailerIds = try list.enumerated().map { try string($0.element, path: "\(path).retailers[\($0.offset)]") }
            }
            users.append(User(username: username, passwordHash: hash, retailerIds: retailerIds))
        }

        var clients: [Client] = []
        for (index, value) in try array(object["clients"], path: "$.clients").enumerated() {
            let path = "$.clients[\(index)]"
            guard let entry = value.objectValue else { throw UserDirectoryError("\(path): expected an object") }
            try rejectUnknownKeys(entry, allowed: ["clientId", "secretHash"], path: path)
            clients.append(Client(clientId: try string(entry["clientId"], path: path + ".clientId"),
                                  secretHash: try string(entry["secretHash"], path: path + ".secretHash")))
        }
        return try UserDirectory(accountId: accountId, users: users, clients: clients)
    }

    public func user(named username: String) -> User? {
        users[username]
    }

    /// The password hash of some user, or nil when there are no users.
    var anyPasswordHash: String? {
        users.values.first?.passwordHash
    }

    public func client(id clientId: String) -> Client? {
        clients[clientId]
    }

    /// Returns the identity that a token issued to `user` carries.
    public func authenticatedUser(_ user: User) -> AuthenticatedUser {
        AuthenticatedUser(username: user.username, accountId: accountId, retailerIds: user.retailerIds)
    }

    private static func rejectUnknownKeys(_ object: JSONObject, allowed: Set<String>, path: String) throws {
        for key in object.keys where !allowed.contains(key) {
            throw UserDirectoryError("\(path).\(key): unknown key, expected one of \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private static func string(_ value: JSONValue?, path: String) throws -> String {
        guard let text = value?.stringValue, !text.isEmpty else {
            throw UserDirectoryError("\(path): expected a non-empty string")
        }
        return text
    }

    private static func array(_ value: JSONValue?, path: String) throws -> [JSONValue] {
        guard let list = value?.arrayValue else { throw UserDirectoryError("\(path): expected an array") }
        return list
    }
}

/// A users file that cannot be used.
public struct UserDirectoryError: Error, CustomStringConvertible {
    public let message: String

    init(_ message: String) {
        self.message = message
    }

    public var description: String { "invalid users file: \(message)" }
}
