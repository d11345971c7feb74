/// Conversion between an event id's lowercase text and the 16 bytes stored in the database.
enum EventIDBytes {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Returns the 16 bytes of a canonical lowercase UUID, or nil when `text` is not one.
    static func bytes(_ text: String) -> [UInt8]? {
        guard EventID.isValid(text) else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        var high: UInt8? = nil
        for character in text.utf8 where character != UInt8(ascii: "-") {
            let nibble = character <= 0x39 ? character - 0x30 : character - 0x61 + 10
            if let pending = high {
                bytes.append(pending << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }

    /// Appends the hyphenated lowercase text of 16 id bytes to `output`.
    static func appendText(of bytes: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { output.append(UInt8(ascii: "-")) }
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0x0F)])
        }
    }

    static func text(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        output.reserveCapacity(36)
        bytes.withUnsafeBytes { appendText(of: $0, to: &output) }
        return String(decoding: output, as: UTF8.self)
    }
}
