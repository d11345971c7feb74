import JSON
import Testing

@Suite struct JSONParserTests {
    static func parse(_ text: String) throws -> JSONValue {
        try JSONParser().parse(text)
    }

    static func error(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONParser().parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    static func error(_ text: String) -> JSONParseError? {
        error(Array(text.utf8))
    }

    @Test func parsesEveryValueKind() throws {
        let value = try Self.parse(#" {"s":"a\"b\\c\/\n\u00e9\ud83d\ude00","i":-42,"d":1.5e2,"t":true,"f":false,"n":null,"a":[1,[]],"o":{}} "#)
        #expect(value["s"] == .string("a\"b\\c/\né😀"))
        #expect(value["i"] == .integer(-42))
        #expect(value["d"] == .double(150))
        #expect(value["t"] == true)
        #expect(value["f"] == false)
        #expect(value["n"] == .null)
        #expect(value["a"] == [1, []])
        #expect(value["o"] == .object(JSONObject()))
        #expect(value.objectValue?.keys == ["s", "i", "d", "t", "f", "n", "a", "o"])
    }

    @Test func integerLimitsAreExact() throws {
        #expect(try Self.parse("9223372036854775807") == .integer(.max))
        #expect(try Self.parse("-9223372036854775808") == .integer(.min))
        #expect(try Self.parse("1.0") == .double(1))
    }

    @Test func outOfRangeNumbersAreRejected() {
        for literal in ["9223372036854775808", "-9223372036854775809", "1e400", "-1e400", "99999999999999999999"] {
            let failure = Self.error(#"{"q":[\#(literal)]}"#)
            #expect(failure?.path == "$.q[0]", "\(literal)")
            #expect(failure?.message.contains("out of range") == true, "\(literal)")
        }
    }

    @Test func duplicateKeysAreRejected() {
        let failure = Self.error(#"{"a":{"name":"A","name":"B"}}"#)
        #expect(failure?.path == "$.a.name")
        #expect(failure?.message.contains("duplicate key") == true)
    }

    @Test func duplicateKeysInLargeObjects() throws {
        // Past 16 members the parser checks keys with a set; the duplicate may sit on either side.
        let keys = (0..<50_000).map { "k\($0)" }
        let members = keys.map { "\"\($0)\":0" }.joined(separator: ",")

        let parsed = try JSONParser().parse("{\(members)}")
        #expect(parsed.objectValue?.count == 50_000)
        #expect(parsed.objectValue?.keys.last == "k49999")

        for duplicate in ["k0", "k15", "k16", "k49999"] {
            let failure = Self.error("{\"o\":{\(members),\"\(duplicate)\":1}}")
            #expect(failure?.path == "$.o.\(duplicate)", "\(duplicate)")
        }
        let early = (0..<20).map { "\"e\($0)\":0" }.joined(separator: ",")
        #expect(Self.error("{\(early),\"e3\":1}")?.path == "$.e3")
    }

    @Test func loneSurrogatesAreRejected() {
        #expect(Self.error(#"["\ud800"]"#)?.message.contains("lone UTF-16 high surrogate") == true)
        #expect(Self.error(#"["\udc00"]"#)?.message.contains("lone UTF-16 low surrogate") == true)
        #expect(Self.error(#"["\ud800\u0041"]"#)?.message.contains("not followed by a low surrogate") == true)
    }

    @Test func invalidUTF8IsRejected() {
        for bytes: [UInt8] in [[0xC3, 0x28], [0xED, 0xA0, 0x80], [0xFF], [0xE2, 0x82]] {
            let failure = Self.error([UInt8(ascii: "\"")] + bytes + [UInt8(ascii: "\"")])
            #expect(failure?.message.contains("invalid UTF-8") == true, "\(bytes)")
        }
    }

    @Test func deepNestingStopsAtLimit() {
        let deep = String(repeating: "[", count: 100_000)
        let failure = Self.error(deep)
        #expect(failure?.message.contains("deeper than the limit of 64") == true)
        #expect(failure?.offset == 64)

        let atLimit = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(Self.error(atLimit) == nil)
        let overLimit = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(Self.error(overLimit) != nil)
    }

    @Test func syntaxErrorsNamePath() {
        let cases: [(String, String, String)] = [
            ("", "$", "unexpected end"),
            (#"{"a":1,}"#, "$", "expected a member name"),
            (#"{"a" 1}"#, "$", "expected ':'"),
            ("[1 2]", "$", "expected ',' or ']'"),
            (#"{"a":[1,2,tru]}"#, "$.a[2]", "invalid literal"),
            (#"{"a b":01}"#, #"$["a b"]"#, "leading zeros"),
            ("1 2", "$", "unexpected data after"),
            ("\"a\u{01}\"", "$", "unescaped control character"),
            (#""\x""#, "$", "invalid escape"),
            (#"-"#, "$", "expected a digit"),
            ("1.", "$", "expected a digit after '.'"),
            ("1e", "$", "exponent"),
            ("'a'", "$", "unexpected character"),
        ]
        for (text, path, message) in cases {
            let failure = Self.error(text)
            #expect(failure?.path == path, "\(text): \(String(describing: failure))")
            #expect(failure?.message.contains(message) == true, "\(text): \(String(describing: failure))")
        }
    }

    @Test func writerRoundTrips() throws {
        let text = #"{"b":[1,-2,3.25,"x\"\\\n\t\u0001é"],"a":{"n":null,"t":true},"big":9223372036854775807}"#
        let value = try Self.parse(text)
        let encoded = JSONWriter.encodeString(value)
        #expect(encoded == #"{"b":[1,-2,3.25,"x\"\\\n\t\u0001é"],"a":{"n":null,"t":true},"big":9223372036854775807}"#)
        #expect(try Self.parse(encoded) == value)
    }
}
