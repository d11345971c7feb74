import CCrypto
import Foundation

/// The few libcrypto primitives the API needs: SHA-256, random bytes, constant-time comparison.
enum Crypto {
    /// Returns the SHA-256 digest of `bytes`.
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        bytes.withUnsafeBytes { buffer in
            _ = EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
        }
        return digest
    }

    /// `count` bytes from libcrypto's CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else {
            // RAND_bytes fails when the CSPRNG cannot be seeded (OpenSSL 3 RAND_bytes(3)).
            // Issuing a predictable token or salt would be worse than stopping.
            fatalError("RAND_bytes failed: libcrypto's random generator is not seeded")
        }
        return bytes
    }

    /// Compares two byte strings in time that depends only on their lengths.
    static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        return left.withUnsafeBytes { leftBuffer in
            right.withUnsafeBytes { rightBuffer in
                CRYPTO_memcmp(leftBuffer.baseAddress, rightBuffer.baseAddress, left.count) == 0
            }
        }
    }

    /// Base64url without padding (RFC 4648 section 5), the form used for bearer tokens.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
