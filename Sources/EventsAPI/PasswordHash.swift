import CCrypto
import Foundation

/// Password and client-secret hashes: PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2) from libcrypto.
///
/// The stored form is `pbkdf2-sha256$<iterations>$<salt>$<hash>` with the 16-byte salt and the
/// 32-byte derived key in standard base64, so the iteration count can be raised for new hashes
/// while old ones still verify.
public enum PasswordHash {
    /// Iterations for new hashes: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
    public static let defaultIterations = 600_000
    static let prefix = "pbkdf2-sha256"
    static let saltLength = 16
    static let keyLength = 32

    /// Makes the stored form of a hash of `password` with a new random salt.
    public static func make(password: String, iterations: Int = defaultIterations) -> String {
        let salt = Crypto.randomBytes(saltLength)
        let key = derive(password: password, salt: salt, iterations: iterations)
        return "\(prefix)$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    /// Returns true when `password` matches `stored`, comparing in constant time.
    /// - Throws: `PasswordHashError` when `stored` is not in the `pbkdf2-sha256$...` form.
    public static func verify(password: String, against stored: String) throws -> Bool {
        let parsed = try parse(stored)
        let key = derive(password: password, salt: parsed.salt, iterations: parsed.iterations)
        return Crypto.constantTimeEqual(key, parsed.key)
    }

    /// Checks that `stored` is a well-formed hash, without verifying any password.
    public static func validate(_ stored: String) throws {
        _ = try parse(stored)
    }

    static func parse(_ stored: String) throws -> (iterations: Int, salt: [UInt8], key: [UInt8]) {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == prefix else {
            throw PasswordHashError("expected pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>, got a value with \(parts.count) parts")
        }
        guard let iterations = Int(parts[1]), iterations >= 1000, iterations <= 10_000_000 else {
            throw PasswordHashError("iterations must be a number from 1000 to 10000000, got \"\(parts[1])\"")
        }
        guard let salt = Data(base64Encoded: String(parts[2])), salt.count >= 8 else {
            throw PasswordHashError("the salt must be base64 of at least 8 bytes")
        }
        guard let key = Data(base64Encoded: String(parts[3])), key.count == keyLength else {
            throw PasswordHashError("the hash must be base64 of \(keyLength) bytes")
        }
        return (iterations, Array(salt), Array(key))
    }

    static func derive(password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: keyLength)
        let passwordBytes = Array(password.utf8)
        let result = passwordBytes.withUnsafeBufferPointer { passwordBuffer in
            passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                PKCS5_PBKDF2_HMAC(passwordChars.baseAddress, Int32(passwordBytes.count), salt, Int32(salt.count),
                                  Int32(iterations), EVP_sha256(), Int32(keyLength), &key)
            }
        }
        precondition(result == 1, "PKCS5_PBKDF2_HMAC failed")
        return key
    }
}

/// A stored password hash that cannot be read.
public struct PasswordHashError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = "invalid password hash: " + description
    }
}
