import Dispatch
import Synchronization

/// Checks the client secret and the password of a token request on a few serial queues of its
/// own, so PBKDF2 never occupies the HTTP worker threads that serve database reads.
///
/// At most `threadCount` checks run at once and at most `queueLimit` more wait; `verify` returns
/// false beyond that, and the caller sends 503. A client secret that verified once is
/// remembered by the SHA-256 of the client id and the presented secret, never the secret itself,
/// so a repeated login costs one PBKDF2 (the password's) instead of two.
///
/// An unknown username costs the same PBKDF2 as a known one: its password is checked against a
/// decoy hash of the same iteration count, so response times do not reveal which users exist.
/// A request whose client credentials are wrong skips the password check, which reveals nothing
/// more than the `invalid_client` response already does.
public final class CredentialVerifier: Sendable {
    public struct Configuration: Sendable {
        /// Checks that run at once, each on its own serial dispatch queue.
        public var threadCount = 2
        /// Checks that may wait for a free queue; more are rejected.
        public var queueLimit = 16

        public init() {}
    }

    /// The result of checking one token request.
    public enum Outcome: Sendable, Equatable {
        case valid(UserDirectory.User)
        case invalidClient
        case invalidUser
    }

    public let configuration: Configuration
    private let users: UserDirectory
    private let queues: [DispatchQueue]
    /// Checks submitted and not yet finished, per queue.
    private let pendingCounts: Mutex<[Int]>
    /// SHA-256 of client id, a zero byte and the secret, for each secret that verified. Only
    /// valid secrets are added, so the set contains at most one entry per configured client.
    private let verifiedClientSecrets = Mutex<Set<[UInt8]>>([])
    /// Verified instead of a missing user's or client's hash, so unknown names take as long to
    /// reject as wrong passwords.
    private let decoyHash: String

    public init(users: UserDirectory, configuration: Configuration = Configuration()) {
        precondition(configuration.threadCount >= 1, "threadCount must be at least 1, got \(configuration.threadCount)")
        precondition(configuration.queueLimit >= 0, "queueLimit must not be negative, got \(configuration.queueLimit)")
        self.users = users
        self.configuration = configuration
        self.queues = (0..<configuration.threadCount).map {
            DispatchQueue(label: "credential-verification-\($0)", qos: .utility)
        }
        self.pendingCounts = Mutex(Array(repeating: 0, count: configuration.threadCount))

        // The decoy costs what a configured user's hash costs, so the timings match.
        let iterations = users.anyPasswordHash.flatMap { try? PasswordHash.parse($0).iterations }
        self.decoyHash = PasswordHash.make(password: "decoy", iterations: iterations ?? PasswordHash.defaultIterations)
    }

    /// Queues the check of one token request and calls `completion` on a verification queue.
    /// - Returns: false, without calling `completion`, when the queue is full.
    public func verify(clientId: String, clientSecret: String, username: String, password: String,
                       completion: @escaping @Sendable (Outcome) -> Void) -> Bool {
        let limit = configuration.threadCount + configuration.queueLimit
        let lane = pendingCounts.withLock { counts -> Int? in
            guard counts.reduce(0, +) < limit else { return nil }
            let lane = counts.indices.min { counts[$0] < counts[$1] }!
            counts[lane] += 1
            return lane
        }
        guard let lane else { return false }

        // The slot is freed after `completion`, which runs on the same queue and so delays the
        // checks behind it.
        queues[lane].async { [self] in
            let outcome = check(clientId: clientId, clientSecret: clientSecret, username: username, password: password)
            completion(outcome)
            pendingCounts.withLock { $0[lane] -= 1 }
        }
        return true
    }

    /// Checks queued or running now.
    var pendingCount: Int {
        pendingCounts.withLock { $0.reduce(0, +) }
    }

    /// The number of client secrets remembered as verified.
    var verifiedClientSecretCount: Int {
        verifiedClientSecrets.withLock { $0.count }
    }

    /// Checks the credentials on the calling thread.
    func check(clientId: String, clientSecret: String, username: String, password: String) -> Outcome {
        guard clientSecretIsValid(clientId: clientId, secret: clientSecret) else { return .invalidClient }

        let user = users.user(named: username)
        let passwordMatches = (try? PasswordHash.verify(password: password, against: user?.passwordHash ?? decoyHash)) == true
        guard passwordMatches, let user else { return .invalidUser }
        return .valid(user)
    }

    private func clientSecretIsValid(clientId: String, secret: String) -> Bool {
        let key = Crypto.sha256(Array(clientId.utf8) + [0] + Array(secret.utf8))
        if verifiedClientSecrets.withLock({ $0.contains(key) }) { return true }

        let client = users.client(id: clientId)
        let matches = (try? PasswordHash.verify(password: secret, against: client?.secretHash ?? decoyHash)) == true
        guard matches, client != nil else { return false }
        verifiedClientSecrets.withLock { _ = $0.insert(key) }
        return true
    }
}
