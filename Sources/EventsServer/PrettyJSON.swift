import JSON

/// JSON text indented by two spaces, keeping member order, for files people edit by hand.
enum PrettyJSON {
    static func encode(_ value: JSONValue) -> String {
        var output = ""
        write(value, indent: "", into: &output)
        return output + "\n"
    }

    private static func write(_ value: JSONValue, indent: String, into output: inout String) {
        let inner = indent + "  "
        switch value {
        case .array(let elements) where !elements.isEmpty:
            output += "[\n"
            for (index, element) in elements.enumerated() {
                output += inner
                write(element, indent: inner, into: &output)
                output += index < elements.count - 1 ? ",\n" : "\n"
            }
            output += indent + "]"
        case .object(let object) where !object.isEmpty:
            output += "{\n"
            for (index, member) in object.members.enumerated() {
                output += inner + JSONWriter.encodeString(.string(member.key)) + ": "
                write(member.value, indent: inner, into: &output)
                output += index < object.count - 1 ? ",\n" : "\n"
            }
            output += indent + "}"
        default:
            output += JSONWriter.encodeString(value)
        }
    }
}
