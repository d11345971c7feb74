import CCrypto
@testable import EventsAPI
import Foundation
import Testing

@Suite struct CryptoTests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The examples of FIPS 180-4 (NIST's "SHA256.pdf" and "SHA2_Additional.pdf"), which cover
    /// one block, a tail that needs a second block, and many blocks.
    @Test func sha256MatchesPublishedVectors() {
        #expect(Self.hex(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Self.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Every length from 0 to 300 bytes, so each position of the padding boundary (55, 56, 63,
    /// 64 bytes in the last block) is compared with libcrypto's digest of the same bytes.
    @Test func sha256MatchesLibcryptoAtEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var expected = [UInt8](repeating: 0, count: 32)
            var size: UInt32 = 0
            bytes.withUnsafeBytes { buffer in
                _ = EVP_Digest(buffer.baseAddress, buffer.count, &expected, &size, EVP_sha256(), nil)
            }
            #expect(SHA256.hash(bytes) == expected, "length \(length)")
            #expect(SHA256.hash(bytes[...]) == expected, "length \(length), as a slice")
        }
    }

    @Test func randomBytesAreFreshEachCall() {
        let first = Crypto.randomBytes(32)
        let second = Crypto.randomBytes(32)
        #expect(first.count == 32)
        #expect(first != second)
        // 8,192 random bytes hold every byte value: some value is missing with a probability
        // under 256 * (255/256)^8192, about 3e-12.
        #expect(Set(Crypto.randomBytes(8192)).count == 256)
    }

    @Test func constantTimeEqualComparesEveryByte() {
        #expect(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEqual([9, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEqual([1, 2], [1, 2, 3]))
        #expect(Crypto.constantTimeEqual([], []))
    }
}
