import Foundation

/// A parsed JSON value (RFC 8259). Objects keep their keys in a sorted dictionary, which is
/// enough for reading configurations and metrics; numbers are `Double`.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Decodes any JSON value.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? container.decode(Double.self) {
            self = .number(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as JSON.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    /// Parses JSON text; `source` names the file (and line) in the error message.
    public static func parse(_ data: Data, source: String) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let error as DecodingError {
            throw RunFormatError(source: source, reason: "not valid JSON (\(JSONValue.describe(error)))")
        }
    }

    /// Reads and parses a JSON file.
    public static func read(from path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunFormatError(source: path, reason: "cannot read the file (missing or unreadable)")
        }
        return try parse(data, source: path)
    }

    /// The value as a number, if it is one.
    public var number: Double? {
        if case .number(let d) = self { return d }
        return nil
    }

    /// The value as an integer, if it is a number with no fractional part and a magnitude
    /// below 9·10¹⁵ (where every integer is exactly a `Double`).
    public var integer: Int? {
        guard case .number(let d) = self, d == d.rounded(), abs(d) < 9e15 else { return nil }
        return Int(d)
    }

    /// The value as a string, if it is one.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as an object, if it is one.
    public var object: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        object?[key]
    }

    /// The leaves of a nested object as `(dotted.key.path, value)` pairs sorted by path:
    /// `{"a": {"b": 1}, "c": [1, 2]}` gives `[("a.b", 1), ("c", [1,2])]`. Arrays are leaves.
    public func flattened(prefix: String = "") -> [(key: String, value: JSONValue)] {
        guard case .object(let members) = self else { return [(prefix, self)] }
        var out = [(key: String, value: JSONValue)]()
        for key in members.keys.sorted() {
            let path = prefix.isEmpty ? key : prefix + "." + key
            out += members[key]!.flattened(prefix: path)
        }
        return out
    }

    /// Compact JSON-like text for display: strings unquoted, integers without a decimal point.
    public var displayText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return JSONValue.formatNumber(d)
        case .string(let s): return s
        case .array(let a): return "[" + a.map { $0.jsonText }.joined(separator: ", ") + "]"
        case .object: return jsonText
        }
    }

    /// The value serialized as compact JSON with sorted keys.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The value serialized as indented JSON with sorted keys.
    public var prettyText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        guard let data = try? encoder.encode(self) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `3` for integral values below 2⁵³, otherwise Swift's shortest round-trip form.
    public static func formatNumber(_ d: Double) -> String {
        if let i = JSONValue.number(d).integer { return String(i) }
        return "\(d)"
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            return underlying ?? context.debugDescription
        default:
            return "\(error)"
        }
    }
}
