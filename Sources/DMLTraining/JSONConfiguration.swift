import Foundation
import DMLRunDirectory

/// Reads a configuration type from a JSON file in which every key is optional.
///
/// The defaults of `Value()` are encoded to a JSON object, the file's object is merged over
/// it key by key (nested objects merged recursively), and the result is decoded. A key the
/// configuration does not have is an error naming the file and the key path, so a typo never
/// passes silently.
public enum JSONConfiguration {
    /// `defaults` with the keys of the JSON object in `data` laid over it.
    public static func decode<Value: Codable>(
        _ type: Value.Type, from data: Data, over defaults: Value, source: String
    ) throws -> Value {
        let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(defaults))
        let overlay: Any
        do {
            overlay = try JSONSerialization.jsonObject(with: data)
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw TrainingError.invalidConfiguration(file: source, reason: "not valid JSON (\(detail))")
        }
        let merged = try merge(overlay, over: base, path: "", source: source)
        do {
            return try decodeMerged(Value.self, merged)
        } catch {
            // Name the key whose value does not decode: lay the file's leaves over the defaults
            // one at a time, so the message says which key and what it should hold even when
            // the decoder's own error carries no key path.
            for (path, value) in leaves(of: overlay, path: []) {
                let single = try merge(nested(path, value), over: base, path: "", source: source)
                do { _ = try decodeMerged(Value.self, single) } catch {
                    // A fraction where the default is a number can only be refused for not
                    // being an integer (some decoders only say "not valid JSON").
                    let fraction = (value as? NSNumber).map { !($0 is Bool) && $0.doubleValue != $0.doubleValue.rounded() } ?? false
                    let expected = fraction && lookup(path, in: base) is NSNumber ? "expected an integer" : expectation(error)
                    throw TrainingError.invalidConfiguration(
                        file: source, reason: "\(path.joined(separator: ".")): \(expected), got \(describe(value))")
                }
            }
            throw TrainingError.invalidConfiguration(file: source, reason: expectation(error))
        }
    }

    private static func decodeMerged<Value: Decodable>(_ type: Value.Type, _ merged: Any) throws -> Value {
        try JSONDecoder().decode(Value.self, from: JSONSerialization.data(withJSONObject: merged))
    }

    /// What a decoding error says was expected, in words.
    private static func expectation(_ error: any Error) -> String {
        func name(_ type: Any.Type) -> String {
            switch type {
            case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt32.Type, is UInt.Type: "expected an integer"
            case is Double.Type, is Float.Type: "expected a number"
            case is String.Type: "expected a string"
            case is Bool.Type: "expected true or false"
            default: "expected a value of type \(type)"
            }
        }
        switch error {
        case DecodingError.typeMismatch(let type, _): return name(type)
        case DecodingError.valueNotFound(let type, _): return name(type)
        case DecodingError.dataCorrupted(let context):
            let text = context.debugDescription
            if text.contains("does not fit in") || text.contains("Parsed JSON number") {
                for (word, type) in [("UInt64", UInt64.self as Any.Type), ("Int", Int.self), ("Double", Double.self)] where text.hasSuffix("\(word).") {
                    return "\(name(type)) (\(text))"
                }
                return "expected an integer (\(text))"
            }
            return text.hasPrefix("expected") ? text : "invalid value (\(text))"
        case DecodingError.keyNotFound(let key, _): return "missing key \(key.stringValue)"
        default: return "\(error)"
        }
    }

    /// The value at a key path of a JSON object, if any.
    private static func lookup(_ path: [String], in object: Any) -> Any? {
        path.reduce(Optional(object)) { current, key in (current as? [String: Any])?[key] }
    }

    /// The key paths and values of the leaves of a JSON object (arrays count as leaves).
    private static func leaves(of value: Any, path: [String]) -> [([String], Any)] {
        guard let object = value as? [String: Any] else { return path.isEmpty ? [] : [(path, value)] }
        return object.keys.sorted().flatMap { leaves(of: object[$0]!, path: path + [$0]) }
    }

    /// `{path[0]: {path[1]: … value}}`.
    private static func nested(_ path: [String], _ value: Any) -> Any {
        path.reversed().reduce(value) { inner, key in [key: inner] }
    }

    /// A JSON value as the user wrote it (near enough): strings quoted, numbers and arrays as text.
    private static func describe(_ value: Any) -> String {
        if let s = value as? String { return "\"\(s)\"" }
        if let data = try? JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed]),
           let text = String(data: data, encoding: .utf8) {
            return String(text.dropFirst().dropLast())
        }
        return "\(value)"
    }

    /// Reads `path` and lays it over `defaults`.
    public static func read<Value: Codable>(_ type: Value.Type, from path: String, over defaults: Value) throws -> Value {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TrainingError.invalidConfiguration(file: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw TrainingError.invalidConfiguration(file: path, reason: "is a directory, expected a JSON configuration file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.invalidConfiguration(file: path, reason: "cannot read the file")
        }
        return try decode(type, from: data, over: defaults, source: path)
    }

    /// Pretty, key-sorted JSON of a configuration (what `config.json` holds,
    /// `RunFiles.configurationJSON`).
    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        try RunFiles.configurationJSON(value)
    }

    private static func keyPath(_ path: [CodingKey]) -> String {
        path.isEmpty ? "the configuration" : path.map(\.stringValue).joined(separator: ".")
    }

    private static func merge(_ overlay: Any, over base: Any, path: String, source: String) throws -> Any {
        guard let o = overlay as? [String: Any], let b = base as? [String: Any] else { return overlay }
        var out = b
        for (key, value) in o {
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard let existing = b[key] else {
                let known = b.keys.sorted().joined(separator: ", ")
                throw TrainingError.invalidConfiguration(file: source, reason: "unknown key \"\(keyPath)\"; known keys here: \(known)")
            }
            out[key] = try merge(value, over: existing, path: keyPath, source: source)
        }
        return out
    }
}
