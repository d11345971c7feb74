/// Request ids: a client's `X-Request-ID` when it is 1 to 128 characters of `[A-Za-z0-9._-]`,
/// else one generated from a random per-process prefix, the loop index and a counter.
struct RequestIDGenerator {
    private let prefix: String
    private var counter: UInt64 = 0

    init(loopIndex: Int) {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        prefix = String(repeating: "0", count: 8 - hex.count) + hex + "-" + String(loopIndex, radix: 16) + "-"
    }

    mutating func next() -> String {
        counter += 1
        return prefix + String(counter, radix: 16)
    }

    static func isValid(_ value: String) -> Bool {
        let bytes = value.utf8
        guard (1...128).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }
}
