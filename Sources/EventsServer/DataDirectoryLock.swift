import Foundation
import Glibc

/// An exclusive `flock(2)` on `<dataDir>/events.lock`, held for the life of the process.
///
/// Two servers on one database would each queue the same PENDING events and execute them
/// twice, so a second `serve` on a data directory in use must not start. The kernel releases
/// the lock when the process ends in any way, `kill -9` included, so a stale lock file never
/// blocks a restart.
final class DataDirectoryLock {
    let path: String
    private let descriptor: Int32

    /// Takes the lock or throws a `SettingError` naming the directory and the holder's pid.
    init(dataDirectory: String) throws(SettingError) {
        path = dataDirectory + "/events.lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SettingError("cannot open \(path): \(String(cString: strerror(errno))); check that dataDir is writable")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw SettingError("data directory \(dataDirectory) is in use by another events-server (pid \(holder.isEmpty ? "unknown" : holder)); stop it or choose another dataDir")
        }

        let text = Array("\(getpid())\n".utf8)
        ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        close(descriptor)
    }
}
