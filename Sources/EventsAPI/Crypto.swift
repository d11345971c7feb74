import CSystem
import Foundation

/// The primitives the API needs besides PBKDF2: SHA-256, random bytes, constant-time comparison.
/// None of them uses libcrypto, which serves password hashing only (see `PasswordHash`).
enum Crypto {
    /// Returns the SHA-256 digest of `bytes`.
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        SHA256.hash(bytes)
    }

    /// Returns `count` bytes from the kernel's CSPRNG (getrandom(2)).
    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let result = bytes.withUnsafeMutableBufferPointer { buffer in
            cs_getrandom(buffer.baseAddress, buffer.count)
        }
        guard result == 0 else {
            // getrandom(2) fails when the kernel lacks it (ENOSYS, before Linux 3.17), when a
            // seccomp filter forbids it (often EPERM) or with a bad buffer. Issuing a
            // predictable token or salt would be worse than stopping.
            fatalError("getrandom(2) failed with errno \(cs_errno()): the kernel's random generator is not available")
        }
        return bytes
    }

    /// Compares two byte strings in time that depends only on their lengths: every byte pair
    /// is compared, and the differences are folded into one value before the single branch.
    static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices {
            difference |= left[index] ^ right[index]
        }
        return difference == 0
    }

    /// Base64url without padding (RFC 4648 section 5), the form used for bearer tokens.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
