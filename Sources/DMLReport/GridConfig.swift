import DMLRunDirectory
import Foundation

/// An experiment grid: every loss × every mode × every seed, each trained with the same base
/// training configuration. JSON form:
///
/// ```json
/// {"losses": ["triplet", "npair"], "modes": ["plain", "hnpm", "hnpm+ee", "hnpm+symm"],
///  "seeds": [1, 2, 3], "base": {"iterations": 2000, "dataset": {"name": "fashion-mnist"}}}
/// ```
///
/// `losses`, `modes` and `seeds` are required non-empty lists without repeats; `base` is an
/// optional object passed through to training. Any other top-level key is an error (a typo
/// would otherwise be silently ignored).
public struct GridConfig: Sendable, Equatable {
    /// The loss names.
    public var losses: [String]
    /// The mode names.
    public var modes: [String]
    /// The seeds.
    public var seeds: [Int]
    /// The base training configuration (a JSON object).
    public var base: [String: JSONValue]

    /// A grid from its parts.
    public init(losses: [String], modes: [String], seeds: [Int], base: [String: JSONValue] = [:]) {
        self.losses = losses
        self.modes = modes
        self.seeds = seeds
        self.base = base
    }

    /// Parses the JSON form; `source` names the file in errors.
    public init(json: JSONValue, source: String) throws {
        guard case .object(let members) = json else {
            throw ReportError(source: source, reason: "expected a JSON object with \"losses\", \"modes\", \"seeds\" and optionally \"base\"")
        }
        for key in members.keys.sorted() where !["losses", "modes", "seeds", "base"].contains(key) {
            throw ReportError(source: "\(source): field \"\(key)\"", reason: "unknown key; expected \"losses\", \"modes\", \"seeds\" or \"base\"")
        }
        func list<T: Hashable>(_ key: String, _ what: String, _ convert: (JSONValue) -> T?) throws -> [T] {
            let field = "\(source): field \"\(key)\""
            guard case .array(let items)? = members[key], !items.isEmpty else {
                throw ReportError(source: field, reason: "expected a non-empty list of \(what)")
            }
            var out = [T]()
            for (i, item) in items.enumerated() {
                guard let value = convert(item) else { throw ReportError(source: "\(field)[\(i)]", reason: "expected \(what)") }
                guard !out.contains(value) else { throw ReportError(source: "\(field)[\(i)]", reason: "repeats an earlier entry") }
                out.append(value)
            }
            return out
        }
        losses = try list("losses", "loss names (non-empty strings)") { $0.string.flatMap { $0.isEmpty ? nil : $0 } }
        modes = try list("modes", "mode names (non-empty strings)") { $0.string.flatMap { $0.isEmpty ? nil : $0 } }
        seeds = try list("seeds", "integer seeds") { $0.integer }
        switch members["base"] {
        case nil: base = [:]
        case .object(let o)?: base = o
        default: throw ReportError(source: "\(source): field \"base\"", reason: "expected a JSON object (the base training configuration)")
        }
    }

    /// Reads a grid file.
    public init(contentsOf path: String) throws {
        try self.init(json: JSONValue.read(from: path), source: path)
    }

    /// The grid as JSON (the same form it is read from).
    public var json: JSONValue {
        .object(["losses": .array(losses.map(JSONValue.string)), "modes": .array(modes.map(JSONValue.string)),
                 "seeds": .array(seeds.map { .number(Double($0)) }), "base": .object(base)])
    }

    /// The runs of the grid, loss-major then mode then seed. Two runs whose directory names
    /// coincide (names that differ only in characters a directory name cannot keep) are an error.
    public func runSpecs() throws -> [RunSpec] {
        var specs = [RunSpec]()
        var names = [String: RunIdentity]()
        for loss in losses {
            for mode in modes {
                for seed in seeds {
                    let spec = try RunSpec(identity: RunIdentity(loss: loss, mode: mode, seed: seed), base: base)
                    if let other = names[spec.directoryName] {
                        throw ReportError(source: "grid", reason: "runs \(other.loss)/\(other.mode)/\(other.seed) and \(loss)/\(mode)/\(seed) would share the directory \(spec.directoryName)")
                    }
                    names[spec.directoryName] = spec.identity
                    specs.append(spec)
                }
            }
        }
        return specs
    }
}
