import JSON

/// The attribute types a workflow can require of an event, as Fluent names them.
public enum AttributeType: String, Sendable, CaseIterable {
    case string = "STRING"
    case integer = "INTEGER"
    case number = "NUMBER"
    case boolean = "BOOLEAN"
    case object = "OBJECT"
    case array = "ARRAY"

    /// Whether `value` has this type. INTEGER accepts a number without a fraction that fits in
    /// 64 bits (`2` and `2.0`); NUMBER accepts every number; null matches no type.
    public func matches(_ value: JSONValue) -> Bool {
        switch self {
        case .string: return value.stringValue != nil
        case .integer: return value.integerValue != nil
        case .number: return value.doubleValue != nil
        case .boolean: return value.boolValue != nil
        case .object: return value.objectValue != nil
        case .array: return value.arrayValue != nil
        }
    }

    /// The type name of a JSON value in these terms, for audits and messages.
    public static func name(of value: JSONValue) -> String {
        switch value {
        case .null: return "NULL"
        case .bool: return "BOOLEAN"
        case .integer: return "INTEGER"
        case .double(let number): return number.rounded() == number && Int64(exactly: number) != nil ? "INTEGER" : "NUMBER"
        case .string: return "STRING"
        case .array: return "ARRAY"
        case .object: return "OBJECT"
        }
    }
}

/// One entry of an event contract: an event attribute a rule reads and the type it must have.
public struct AttributeRequirement: Sendable, Equatable {
    public var name: String
    public var type: AttributeType

    public init(name: String, type: AttributeType) {
        self.name = name
        self.type = type
    }
}
