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

    static func libcryptoSHA256(_ bytes: [UInt8]) -> [UInt8] {
        var expected = [UInt8](repeating: 0, count: 32)
        var size: UInt32 = 0
        bytes.withUnsafeBytes { buffer in
            _ = EVP_Digest(buffer.baseAddress, buffer.count, &expected, &size, EVP_sha256(), nil)
        }
        return expected
    }

    /// Slices that start past index 0, collections without contiguous storage, and Data.
    @Test func sha256MatchesLibcryptoOnViews() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<1_300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...1_100 {
            let start = length % 7
            let bytes = Array(data[start..<(start + length)])
            let expected = Self.libcryptoSHA256(bytes)
            #expect(SHA256.hash(data[start..<(start + length)]) == expected, "slice at \(start), length \(length)")
            #expect(SHA256.hash(bytes.lazy.map { $0 }) == expected, "lazy map, length \(length)")
            #expect(SHA256.hash(Data(bytes)) == expected, "Data, length \(length)")
        }
        let large = (0..<1_000_003).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        #expect(SHA256.hash(large[3...]) == Self.libcryptoSHA256(Array(large[3...])))
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
