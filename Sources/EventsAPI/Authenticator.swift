import EventStore
import Foundation
import HTTP
import Synchronization
import Telemetry

/// Verifies `Authorization: Bearer <token>` from memory and issues new tokens.
///
/// Every valid token is held in memory by the SHA-256 of its value, so a check never touches
/// the database and can run on an event-loop thread. The database keeps the same hashes so
/// tokens survive a restart: `loadTokens()` reads them back at start.
public final class Authenticator: Sendable {
    private struct CachedToken {
        var username: String
        var expiresOn: Int64
    }

    public let users: UserDirectory
    private let store: EventStore
    /// Lifetime of new tokens, in seconds.
    public let tokenLifetimeSeconds: Int
    /// How long an expired token's hash is kept after its expiry, in milliseconds: 7 days. In
    /// that time the token gets the "expired at" 401 message, not the "invalid access token" one.
    public static let expiredTokenRetentionMilliseconds: Int64 = 7 * 86_400_000
    private let clock: @Sendable () -> Int64
    private let tokens = Mutex<[TokenDigest: CachedToken]>([:])
    private let logger: Logger

    /// - Parameter clock: epoch milliseconds; tests pass a fake to expire tokens.
    public init(users: UserDirectory, store: EventStore, tokenLifetimeSeconds: Int = 86_400,
                logger: Logger = Logger(label: "auth"),
                clock: @escaping @Sendable () -> Int64 = { TimeFormat.nowMilliseconds() }) {
        self.users = users
        self.store = store
        self.tokenLifetimeSeconds = tokenLifetimeSeconds
        self.logger = logger
        self.clock = clock
    }

    /// Reads the tokens that are unexpired or expired less than `expiredTokenRetentionMilliseconds`
    /// ago from the database into memory. Call once at start.
    public func loadTokens() throws {
        let now = clock()
        let stored = try store.read { try TokenRecords.active(at: now - Authenticator.expiredTokenRetentionMilliseconds, on: $0) }
        tokens.withLock { cache in
            for token in stored {
                cache[TokenDigest(token.hash)] = CachedToken(username: token.username, expiresOn: token.expiresOn)
            }
        }
        logger.info("bearer tokens loaded", [("count", String(stored.count))])
    }

    /// The value that the head filter of `install` attaches to a request it lets through. The
    /// token's digest lets the handler check expiry and revocation again without hashing the token.
    struct VerifiedToken: Sendable {
        let digest: TokenDigest
    }

    /// Returns the user of the request's bearer token, or the error to send: 401, or 400 for
    /// more than one Authorization field. A request that passed the head filter of `install`
    /// carries its token's digest, so its token is not hashed again. The digest is still looked
    /// up, so a token that expired or was revoked since the head was read gets the 401.
    public func authenticate(_ request: HTTPRequest) -> Result<AuthenticatedUser, APIError> {
        if let verified = request.headFilterValue(VerifiedToken.self) {
            return user(for: verified.digest)
        }
        return verify(request).map(\.user)
    }

    /// Hashes the request's bearer token and returns its digest and user.
    private func verify(_ request: HTTPRequest) -> Result<(digest: TokenDigest, user: AuthenticatedUser), APIError> {
        let headers = request.headers.values("Authorization")
        guard headers.count <= 1 else {
            return .failure(.badRequest("the Authorization header is given \(headers.count) times: send one Authorization: Bearer <access_token>"))
        }
        guard let header = headers.first else {
            return .failure(.unauthorized("missing Authorization header: send Authorization: Bearer <access_token> from POST /oauth/token", invalidToken: false))
        }
        guard let token = Authenticator.bearerToken(header) else {
            return .failure(.unauthorized("the Authorization header must use the Bearer scheme: Authorization: Bearer <access_token>", invalidToken: false))
        }
        let digest = TokenDigest(Crypto.sha256(token))
        return user(for: digest).map { (digest, $0) }
    }

    /// Looks a token digest up in the cache and checks its expiry and its user.
    private func user(for hash: TokenDigest) -> Result<AuthenticatedUser, APIError> {
        let now = clock()

        // Expired entries stay until `issueToken` purges them, so the message below stays the same.
        let cached = tokens.withLock { $0[hash] }
        guard let cached else {
            return .failure(.unauthorized("invalid access token: get a new one from POST /oauth/token", invalidToken: true))
        }
        guard cached.expiresOn > now else {
            return .failure(.unauthorized("the access token expired at \(TimeFormat.iso8601(milliseconds: cached.expiresOn)): get a new one from POST /oauth/token", invalidToken: true))
        }
        // A user removed from the users file loses access at once, even with a live token.
        guard let user = users.user(named: cached.username) else {
            return .failure(.unauthorized("invalid access token: its user no longer exists", invalidToken: true))
        }
        return .success(users.authenticatedUser(user))
    }

    /// Returns the bytes of the token in `Bearer <token>`, or nil for another scheme. The scheme
    /// name is case-insensitive (RFC 9110 section 11.1), and spaces around the token are ignored.
    static func bearerToken(_ header: String) -> [UInt8]? {
        var bytes = Array(header.utf8)[...]
        while bytes.first == UInt8(ascii: " ") { bytes.removeFirst() }
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count else { return nil }
        for (offset, expected) in scheme.enumerated() where bytes[bytes.startIndex + offset] | 0x20 != expected {
            return nil
        }
        bytes.removeFirst(scheme.count)
        guard bytes.first == UInt8(ascii: " ") else { return nil }
        while bytes.first == UInt8(ascii: " ") { bytes.removeFirst() }
        while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        return bytes.isEmpty ? nil : Array(bytes)
    }

    /// Installs a head filter that rejects requests to routes under `/api/` without a valid
    /// token before their body is read, so `Expect: 100-continue` gets the 401 and no 100.
    /// Any filter already installed runs first. Patterns in `publicPatterns` need no token.
    public func install(into router: inout Router, publicPatterns: Set<String> = []) {
        let previous = router.headFilter
        router.headFilter = { [self] request, route in
            if let previous, let response = previous(&request, route) { return response }
            guard route.pattern.hasPrefix("/api/"), !publicPatterns.contains(route.pattern) else { return nil }

            switch verify(request) {
            case .success(let verified):
                request.attachHeadFilterValue(VerifiedToken(digest: verified.digest))
                return nil
            case .failure(let error):
                return error.response
            }
        }
    }

    /// A token just issued: the value to hand to the client and when it expires.
    public struct IssuedToken: Sendable {
        public var accessToken: String
        public var expiresInSeconds: Int
    }

    /// Makes a new 256-bit token for `username`, stores its hash durably, then adds it to the
    /// cache and calls `completion` on the writer thread. Tokens that expired more than
    /// `expiredTokenRetentionMilliseconds` ago are deleted in the same transaction.
    public func issueToken(username: String, clientId: String,
                           completion: @escaping @Sendable (Result<IssuedToken, any Error>) -> Void) {
        let value = Crypto.base64URL(Crypto.randomBytes(32))
        let hashBytes = Crypto.sha256(Array(value.utf8))
        let hash = TokenDigest(hashBytes)
        let now = clock()
        let record = TokenRecords.Token(hash: hashBytes, username: username, clientId: clientId, issuedOn: now,
                                        expiresOn: now + Int64(tokenLifetimeSeconds) * 1000)

        let purgeBefore = now - Authenticator.expiredTokenRetentionMilliseconds

        store.writer.submit({ connection in
            try TokenRecords.deleteExpired(at: purgeBefore, on: connection)
            try TokenRecords.insert(record, on: connection)
        }, completion: { [self] result in
            switch result {
            case .success:
                tokens.withLock { cache in
                    cache[hash] = CachedToken(username: username, expiresOn: record.expiresOn)
                    // NOTE: live tokens are not capped per user, so the cache grows with the
                    // logins of one day plus the retention (about 100 bytes each).
                    if cache.count > 10_000 {
                        cache = cache.filter { $0.value.expiresOn > purgeBefore }
                    }
                }
                completion(.success(IssuedToken(accessToken: value, expiresInSeconds: tokenLifetimeSeconds)))
            case .failure(let error):
                completion(.failure(error))
            }
        })
    }

    /// Makes `token` invalid at once, in memory and in the database.
    public func revoke(token: String, completion: @escaping @Sendable (Result<Bool, any Error>) -> Void) {
        let hashBytes = Crypto.sha256(Array(token.utf8))
        tokens.withLock { _ = $0.removeValue(forKey: TokenDigest(hashBytes)) }
        store.writer.submit({ try TokenRecords.delete(hash: hashBytes, on: $0) }, completion: completion)
    }
}

/// A SHA-256 digest as four words, so the token cache hashes 4 integers instead of 32 bytes.
struct TokenDigest: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64)

    init(_ digest: [UInt8]) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { buffer in
            buffer.copyBytes(from: digest.prefix(32))
        }
        self.words = words
    }

    static func == (left: TokenDigest, right: TokenDigest) -> Bool {
        left.words == right.words
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
