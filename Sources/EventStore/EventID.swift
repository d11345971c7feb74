import Telemetry

/// Event ids: UUIDv7 (RFC 9562 section 5.7) in lowercase hyphenated text.
///
/// The first 48 bits are the Unix time in milliseconds, so ids sort by creation time as text.
/// Within one millisecond the 12-bit `rand_a` field is a counter started at a random value
/// (RFC 9562 section 6.2, method 1), so ids made by one process also sort in creation order.
/// When the counter runs out, the timestamp moves one millisecond ahead instead of repeating.
public enum EventID {
    /// Makes a new id from the current time.
    public static func make() -> String {
        make(milliseconds: TimeFormat.nowMilliseconds())
    }

    /// Makes a new id for the time `milliseconds` (epoch ms), never smaller than the last id
    /// that `sequence` made. Tests pass a sequence of their own, so far-off times they try
    /// cannot move the ids of the rest of the process.
    public static func make(milliseconds: Int64, sequence: EventIDSequence = .shared) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (generator.next() as UInt64, generator.next() as UInt64)
        let (timestamp, counter) = sequence.next(milliseconds: milliseconds, firstCounter: UInt16(random.0 & 0x01FF))

        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: timestamp >> (8 * (5 - index)))
        }
        bytes[6] = 0x70 | UInt8(counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        for index in 8..<16 {
            bytes[index] = UInt8(truncatingIfNeeded: random.1 >> (8 * (index - 8)))
        }
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return format(bytes)
    }

    /// Returns true when `text` is a UUID in canonical lowercase hyphenated form (any version).
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)) {
                return false
            }
        }
        return true
    }

    /// Returns the epoch milliseconds carried by a UUIDv7, or nil for another text.
    public static func milliseconds(of id: String) -> Int64? {
        guard isValid(id) else { return nil }
        let hex = id.replacingHyphens().prefix(12)
        return Int64(hex, radix: 16)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func format(_ bytes: [UInt8]) -> String {
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

private extension String {
    func replacingHyphens() -> String {
        String(decoding: utf8.filter { $0 != UInt8(ascii: "-") }, as: UTF8.self)
    }
}
