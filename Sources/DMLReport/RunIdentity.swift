import Foundation

/// Which cell of an experiment grid a run belongs to: its loss, its mode and its seed, read
/// from the run's `config.json`.
///
/// `config.json` must hold at top level `"loss"` (a string, or an object whose `"name"` is a
/// string), `"mode"` (a string: `plain`, `hnpm`, `hnpm+ee`, `hnpm+symm`, or another mode name)
/// and `"seed"` (an integer).
public struct RunIdentity: Sendable, Hashable, Codable {
    /// The loss name, e.g. `triplet`.
    public var loss: String
    /// The mode name, e.g. `hnpm+ee`.
    public var mode: String
    /// The seed.
    public var seed: Int

    /// The mode every other mode is compared with.
    public static let baselineMode = "plain"
    /// The modes of the papers, in display order.
    public static let standardModes = ["plain", "hnpm", "hnpm+ee", "hnpm+symm"]

    /// An identity.
    public init(loss: String, mode: String, seed: Int) {
        self.loss = loss
        self.mode = mode
        self.seed = seed
    }

    /// Reads the identity from a configuration object; `source` names the file in errors.
    public init(config: JSONValue, source: String) throws {
        guard case .object(let members) = config else {
            throw ReportError(source: source, reason: "expected a JSON object")
        }
        switch members["loss"] {
        case .string(let name)?: loss = name
        case .object(let o)? where o["name"]?.string != nil: loss = o["name"]!.string!
        default: throw ReportError(source: "\(source): field \"loss\"", reason: "expected a loss name (a string, or an object with a \"name\" string)")
        }
        guard let mode = members["mode"]?.string else {
            throw ReportError(source: "\(source): field \"mode\"", reason: "expected a mode name (a string such as \"hnpm+ee\")")
        }
        self.mode = mode
        guard let seed = members["seed"]?.number, seed == seed.rounded(), abs(seed) < 9e15 else {
            throw ReportError(source: "\(source): field \"seed\"", reason: "expected an integer seed")
        }
        self.seed = Int(seed)
    }

    /// Reads `config.json` in a run directory.
    public init(runDirectory: String) throws {
        let path = (runDirectory as NSString).appendingPathComponent("config.json")
        try self.init(config: JSONValue.read(from: path), source: path)
    }
}
