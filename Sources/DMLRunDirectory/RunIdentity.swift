import Foundation

/// Which cell of an experiment grid a run belongs to: its loss, its mode and its seed, read
/// from the run's `config.json`.
///
/// `config.json` as `dml train` writes it holds a `"loss"` object with `"kind"` (the loss name),
/// `"mining"` (`plain` or `hnpm`) and `"synthesis"` (`none`, `ee` or `symm`), from which the mode
/// is named (`plain`, `hnpm`, `hnpm+ee`, `hnpm+symm`), and an integer `"seed"`. Configurations
/// written by other tools may instead give `"loss"` as a string (or an object with a `"name"`)
/// and the mode as a top-level `"mode"` string.
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
            throw RunFormatError(source: source, reason: "expected a JSON object")
        }
        var derivedMode: String? = nil
        switch members["loss"] {
        case .string(let name)?: loss = name
        case .object(let o)? where o["kind"]?.string != nil:
            loss = o["kind"]!.string!
            if let mining = o["mining"]?.string, let synthesis = o["synthesis"]?.string {
                derivedMode = RunIdentity.mode(mining: mining, synthesis: synthesis)
            }
        case .object(let o)? where o["name"]?.string != nil: loss = o["name"]!.string!
        default: throw RunFormatError(source: "\(source): field \"loss\"", reason: "expected a loss name (a string, or an object with a \"kind\" or \"name\" string)")
        }
        guard let mode = derivedMode ?? members["mode"]?.string else {
            throw RunFormatError(source: "\(source): field \"mode\"", reason: "expected loss.mining and loss.synthesis, or a mode name (a string such as \"hnpm+ee\")")
        }
        self.mode = mode
        guard let seed = members["seed"]?.integer else {
            throw RunFormatError(source: "\(source): field \"seed\"", reason: "expected an integer seed")
        }
        self.seed = seed
    }

    /// The mode name of a mining mode and a synthesis (their `config.json` names): `plain`,
    /// `hnpm` or `hnpm+<synthesis>` — the mode names of the papers' ablations, which
    /// `LossConfiguration.modeDescription` and the experiment grids use.
    public static func mode(mining: String, synthesis: String) -> String {
        mining == "plain" ? "plain" : (synthesis == "none" ? mining : "\(mining)+\(synthesis)")
    }

    /// The mining mode and synthesis of a standard mode name, or nil for another name.
    public static func miningAndSynthesis(ofMode mode: String) -> (mining: String, synthesis: String)? {
        switch mode {
        case "plain": ("plain", "none")
        case "hnpm": ("hnpm", "none")
        case "hnpm+ee": ("hnpm", "ee")
        case "hnpm+symm": ("hnpm", "symm")
        default: nil
        }
    }

    /// Reads `config.json` in a run directory.
    public init(runDirectory: String) throws {
        let path = RunFiles(runDirectory).file(RunFiles.configuration)
        try self.init(config: JSONValue.read(from: path), source: path)
    }
}
