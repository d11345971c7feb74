/// The field lines of a request or response header section (RFC 9110 section 5), in the order
/// received. Names compare case-insensitively; values are kept as sent, without surrounding whitespace.
public struct HTTPFields: Sendable, Sequence {
    public private(set) var lines: [(name: String, value: String)]

    public init(_ lines: [(String, String)] = []) {
        self.lines = lines.map { (name: $0.0, value: $0.1) }
    }

    public var count: Int { lines.count }

    /// The first value of the field `name`, or nil when absent.
    public subscript(name: String) -> String? {
        for line in lines where HTTPFields.namesEqual(line.name, name) {
            return line.value
        }
        return nil
    }

    /// Every value of the field `name`, in order.
    public func values(_ name: String) -> [String] {
        lines.filter { HTTPFields.namesEqual($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool {
        lines.contains { HTTPFields.namesEqual($0.name, name) }
    }

    public mutating func append(_ name: String, _ value: String) {
        lines.append((name, value))
    }

    /// Replaces every line of `name` with one line holding `value`.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        lines.append((name, value))
    }

    public mutating func remove(_ name: String) {
        lines.removeAll { HTTPFields.namesEqual($0.name, name) }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        lines.makeIterator()
    }

    /// ASCII case-insensitive comparison, as field names are tokens (RFC 9110 section 5.1).
    public static func namesEqual(_ left: String, _ right: String) -> Bool {
        let leftBytes = left.utf8
        let rightBytes = right.utf8
        guard leftBytes.count == rightBytes.count else { return false }
        for (a, b) in zip(leftBytes, rightBytes) where a != b {
            let lowerA = a >= 0x41 && a <= 0x5A ? a | 0x20 : a
            let lowerB = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
            if lowerA != lowerB { return false }
        }
        return true
    }
}
