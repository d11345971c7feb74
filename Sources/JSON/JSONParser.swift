/// A strict JSON parser (RFC 8259) that reports errors by JSON path.
///
/// Beyond the RFC's grammar it rejects what lets two parsers disagree about one document:
/// duplicate object keys, invalid UTF-8, lone UTF-16 surrogates in `\u` escapes, integers that do
/// not fit in `Int64` and numbers that overflow `Double`. Nesting deeper than `maximumDepth`
/// is rejected before recursion can exhaust a thread's stack.
public struct JSONParser: Sendable {
    /// The default maximum nesting of arrays and objects, counting the outermost value as 1.
    public static let defaultMaximumDepth = 64

    public var maximumDepth: Int

    public init(maximumDepth: Int = JSONParser.defaultMaximumDepth) {
        self.maximumDepth = maximumDepth
    }

    /// Parses one JSON document; whitespace may surround it, nothing else may follow it.
    /// - Throws: `JSONParseError` naming the path, the byte offset and what was expected.
    public func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withContiguousStorageIfAvailable { buffer in
            parse(buffer: buffer)
        } ?? Array(bytes).withUnsafeBufferPointer { buffer in
            parse(buffer: buffer)
        }
        return try result.get()
    }

    /// Parses a document given as a Swift string.
    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private func parse(buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONParseError> {
        var cursor = JSONCursor(bytes: buffer, maximumDepth: maximumDepth)
        do {
            cursor.skipWhitespace()
            let value = try cursor.parseValue(depth: 1)
            cursor.skipWhitespace()
            if cursor.index != buffer.count {
                throw cursor.error("unexpected data after the end of the JSON document")
            }
            return .success(value)
        } catch let error as JSONParseError {
            return .failure(error)
        } catch {
            return .failure(JSONParseError(path: "$", offset: cursor.index, message: "\(error)"))
        }
    }
}

/// A JSON syntax or range error, with the JSON path of the value being read (`$.attributes.items[2]`).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var offset: Int
    public var message: String

    public init(path: String, offset: Int, message: String) {
        self.path = path
        self.offset = offset
        self.message = message
    }

    public var description: String {
        "\(message) at \(path) (byte \(offset))"
    }
}

extension JSONParseError {
    /// One step of a JSON path: a member name or an array index.
    enum PathComponent {
        case key(String)
        case index(Int)
    }

    /// Returns this error with `component` inserted right after the `$`. Each object and array
    /// adds its own step while the error travels up, so the parser keeps no path while it
    /// succeeds.
    func inside(_ component: PathComponent) -> JSONParseError {
        var step: String
        switch component {
        case .key(let key):
            if !key.isEmpty, key.utf8.allSatisfy(Self.isIdentifierByte) {
                step = ".\(key)"
            } else {
                step = "[\"\(key)\"]"
            }
        case .index(let index):
            step = "[\(index)]"
        }
        return JSONParseError(path: "$" + step + path.dropFirst(), offset: offset, message: message)
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
    }
}

/// The parser's position in the document.
struct JSONCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    /// Returns an error at the current byte. Its path is `$` until the enclosing objects and
    /// arrays add their steps (see `JSONParseError.inside`).
    func error(_ message: String) -> JSONParseError {
        JSONParseError(path: "$", offset: index, message: message)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of the JSON document, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character \(describe(bytes[index])), expected a value")
        }
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("invalid literal, expected \(literal)") }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw error("invalid literal, expected \(literal)")
        }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maximumDepth else {
            throw error("nesting is deeper than the limit of \(maximumDepth) arrays and objects")
        }
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        var seenKeys: Set<String> = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject(uniqueMembers: members))
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a member name in double quotes")
            }
            let key = try parseString()
            if isDuplicate(key, in: members, seen: &seenKeys) {
                throw error("duplicate key \"\(key)\": each key may appear once in an object").inside(.key(key))
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after the member name \"\(key)\"")
            }
            index += 1
            skipWhitespace()
            let value: JSONValue
            do {
                value = try parseValue(depth: depth + 1)
            } catch {
                throw error.inside(.key(key))
            }
            members.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of the JSON document inside an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(JSONObject(uniqueMembers: members))
            }
            throw error("expected ',' or '}' in an object, found \(describe(bytes[index]))")
        }
    }

    /// Objects below this many members are checked for duplicate keys by a linear scan, which
    /// beats hashing for the small objects of events. Larger objects switch to a set, so a body
    /// with 100,000 keys costs linear time, not quadratic.
    private static let linearKeyScanLimit = 16

    private func isDuplicate(_ key: String, in members: [(key: String, value: JSONValue)], seen: inout Set<String>) -> Bool {
        if members.count < JSONCursor.linearKeyScanLimit {
            return members.contains { $0.key == key }
        }
        if seen.isEmpty {
            seen.reserveCapacity(members.count * 2)
            for member in members { seen.insert(member.key) }
        }
        return !seen.insert(key).inserted
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maximumDepth else {
            throw error("nesting is deeper than the limit of \(maximumDepth) arrays and objects")
        }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            do {
                elements.append(try parseValue(depth: depth + 1))
            } catch {
                throw error.inside(.index(elements.count))
            }
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of the JSON document inside an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw error("expected ',' or ']' in an array, found \(describe(bytes[index]))")
        }
    }

    /// Reads a string starting at its opening quote and leaves the index after the closing one.
    mutating func parseString() throws(JSONParseError) -> String {
        index += 1
        let start = index

        // Fast path: no escapes. ASCII needs no validation; other bytes are validated as UTF-8
        // in one pass by the standard library. `String(validating:as:)` is generic over the
        // encoding and costs about 900 instructions even for a short ASCII string, so ASCII
        // strings, most of an event, take `String(decoding:as:)`, which cannot repair anything
        // in ASCII.
        var orBits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                let text: String
                if orBits < 0x80 {
                    text = String(decoding: slice, as: UTF8.self)
                } else if let validated = String(validating: slice, as: UTF8.self) {
                    text = validated
                } else {
                    index = start
                    throw error("invalid UTF-8 in a string")
                }
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("unescaped control character \(describe(byte)) in a string") }
            orBits |= byte
            index += 1
        }

        var scratch: [UInt8] = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: scratch, as: UTF8.self) else {
                    throw error("invalid UTF-8 in a string")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try parseEscape(into: &scratch)
            case 0..<0x20:
                throw error("unescaped control character \(describe(byte)) in a string")
            default:
                scratch.append(byte)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    private mutating func parseEscape(into scratch: inout [UInt8]) throws(JSONParseError) {
        guard index < bytes.count else { throw error("unterminated escape sequence") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let first = try parseHex4()
            var scalarValue = UInt32(first)
            if (0xD800...0xDBFF).contains(first) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("lone UTF-16 high surrogate \\u\(hex(first)) in a string")
                }
                index += 2
                let second = try parseHex4()
                guard (0xDC00...0xDFFF).contains(second) else {
                    throw error("UTF-16 high surrogate \\u\(hex(first)) is not followed by a low surrogate")
                }
                scalarValue = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(first) {
                throw error("lone UTF-16 low surrogate \\u\(hex(first)) in a string")
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { throw error("invalid Unicode escape") }
            scratch.append(contentsOf: String(Character(scalar)).utf8)
        default:
            index -= 1
            throw error("invalid escape sequence \\\(describe(byte))")
        }
    }

    private func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw error("a \\u escape needs four hexadecimal digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hexadecimal digits")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }

        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number, expected a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("invalid number, leading zeros are not allowed") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }

        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number, expected a digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }

        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number, expected a digit in the exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }

        let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger {
            guard let value = Int64(literal) else {
                throw JSONParseError(path: "$", offset: start,
                                     message: "integer \(literal) is out of range, expected a value from -9223372036854775808 to 9223372036854775807")
            }
            return .integer(value)
        }
        guard let value = Double(literal), value.isFinite else {
            throw JSONParseError(path: "$", offset: start,
                                 message: "number \(literal) is out of range for a 64-bit floating-point value")
        }
        return .double(value)
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
