import Foundation

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
            throw TrainingError.invalidConfiguration(file: source, reason: "not valid JSON (\(error.localizedDescription))")
        }
        let merged = try merge(overlay, over: base, path: "", source: source)
        do {
            return try JSONDecoder().decode(Value.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch let DecodingError.dataCorrupted(context) {
            throw TrainingError.invalidConfiguration(file: source, reason: "\(keyPath(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.typeMismatch(type, context) {
            throw TrainingError.invalidConfiguration(file: source, reason: "\(keyPath(context.codingPath)): expected a value of type \(type)")
        } catch {
            throw TrainingError.invalidConfiguration(file: source, reason: "\(error)")
        }
    }

    /// Reads `path` and lays it over `defaults`.
    public static func read<Value: Codable>(_ type: Value.Type, from path: String, over defaults: Value) throws -> Value {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.invalidConfiguration(file: path, reason: "cannot read the file")
        }
        return try decode(type, from: data, over: defaults, source: path)
    }

    /// Pretty, key-sorted JSON of a configuration (what `config.json` holds).
    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
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
