import EventsAPI
import Foundation
import Glibc
import JSON

/// A users file (`Config/users.json`) as JSON to edit: the format `UserDirectory` reads, with
/// members kept in their order so a change shows as a small diff.
struct UsersFile {
    let path: String
    private(set) var document: JSONObject

    /// Reads the file at `path`. When it does not exist, starts an empty one for `accountId`,
    /// which is then required.
    init(path: String, accountIdForNewFile accountId: String?) throws(SettingError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            guard let accountId, !accountId.isEmpty else {
                throw SettingError("users file \(path) does not exist; pass --account ID to create it (the account id that tokens carry, such as ACME)")
            }
            document = JSONObject([("accountId", .string(accountId)), ("users", .array([])), ("clients", .array([]))])
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingError("cannot read users file \(path); check its permissions")
        }
        do {
            _ = try UserDirectory.parse(Array(data))
            guard case .object(let object) = try JSONParser().parse(Array(data)) else {
                throw SettingError("\(path) must contain a JSON object")
            }
            document = object
        } catch let error as SettingError {
            throw error
        } catch {
            throw SettingError("\(path): \(error)")
        }
    }

    var accountId: String { document["accountId"]?.stringValue ?? "" }

    var users: [JSONObject] { (document["users"]?.arrayValue ?? []).compactMap(\.objectValue) }

    var clients: [JSONObject] { (document["clients"]?.arrayValue ?? []).compactMap(\.objectValue) }

    /// Adds the user or replaces its hash, and returns true when the user is new. With
    /// `retailers` nil an existing user keeps its scope and a new one is account-wide. An empty
    /// list makes the user account-wide.
    mutating func setUser(_ username: String, passwordHash: String, retailers: [String]?) -> Bool {
        var list = users
        let index = list.firstIndex { $0["username"]?.stringValue == username }
        var entry = index.map { list[$0] } ?? JSONObject([("username", .string(username))])
        entry["passwordHash"] = .string(passwordHash)
        if let retailers {
            entry["retailers"] = retailers.isEmpty ? nil : .array(retailers.map { .string($0) })
        }
        if let index { list[index] = entry } else { list.append(entry) }
        document["users"] = .array(list.map { .object($0) })
        return index == nil
    }

    /// Adds the API client or replaces its secret hash. Returns true when the client is new.
    mutating func setClient(_ clientId: String, secretHash: String) -> Bool {
        var list = clients
        let index = list.firstIndex { $0["clientId"]?.stringValue == clientId }
        let entry = JSONObject([("clientId", .string(clientId)), ("secretHash", .string(secretHash))])
        if let index { list[index] = entry } else { list.append(entry) }
        document["clients"] = .array(list.map { .object($0) })
        return index == nil
    }

    /// Removes the user or client `name` from the list `key`. Returns false when it is absent.
    mutating func remove(_ name: String, from key: String, idKey: String) -> Bool {
        let list = (document[key]?.arrayValue ?? []).compactMap(\.objectValue)
        let kept = list.filter { $0[idKey]?.stringValue != name }
        document[key] = .array(kept.map { .object($0) })
        return kept.count != list.count
    }

    /// Checks the document with the server's own parser, then replaces the file atomically
    /// (write beside it, fsync, rename). A new file is readable by its owner only, since it
    /// contains password hashes; an existing file keeps its permissions.
    func save() throws(SettingError) {
        let text = PrettyJSON.encode(.object(document))
        do {
            _ = try UserDirectory.parse(Array(text.utf8))
        } catch {
            throw SettingError("the change would make \(path) invalid: \(error)")
        }

        var mode: mode_t = 0o600
        var status = stat()
        if stat(path, &status) == 0 { mode = status.st_mode & 0o777 }
        let temporaryPath = path + ".tmp-\(getpid())"
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else {
            throw SettingError("cannot write \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced, rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw SettingError("cannot write \(path): \(reason)")
        }
    }
}
