import DMLRunDirectory

/// One run of an experiment grid: its identity, its training configuration and the name of
/// its run directory.
public struct RunSpec: Sendable, Equatable {
    /// Loss, mode and seed.
    public let identity: RunIdentity
    /// The training configuration (the shape of a run's `config.json`): the grid's base object
    /// with `"seed"` set and, in its `"loss"` object, `"kind"` set to the loss name and
    /// `"mining"` / `"synthesis"` set from the mode (`plain` → plain/none, `hnpm` → hnpm/none,
    /// `hnpm+ee` → hnpm/ee, `hnpm+symm` → hnpm/symm).
    public let config: [String: JSONValue]

    /// The spec of `identity` over the base configuration `base`; throws for a mode that is
    /// not one of `RunIdentity.standardModes`.
    public init(identity: RunIdentity, base: [String: JSONValue]) throws {
        self.identity = identity
        guard let (mining, synthesis) = RunIdentity.miningAndSynthesis(ofMode: identity.mode) else {
            throw ReportError(source: "grid", reason: "unknown mode \(identity.mode); expected one of \(RunIdentity.standardModes.joined(separator: ", "))")
        }
        var config = base
        var lossObject: [String: JSONValue] = [:]
        if case .object(let given)? = base["loss"] { lossObject = given }
        lossObject["kind"] = .string(identity.loss)
        lossObject["mining"] = .string(mining)
        lossObject["synthesis"] = .string(synthesis)
        config["loss"] = .object(lossObject)
        config["seed"] = .number(Double(identity.seed))
        self.config = config
    }

    /// The run directory's name, `<loss>_<mode>_seed<seed>` with every character other than
    /// ASCII letters, digits, `.` and `-` replaced by `-` (so `hnpm+ee` becomes `hnpm-ee`):
    /// `triplet_hnpm-ee_seed3`.
    public var directoryName: String {
        "\(RunSpec.slug(identity.loss))_\(RunSpec.slug(identity.mode))_seed\(identity.seed)"
    }

    /// `text` with every character outside `[A-Za-z0-9.-]` replaced by `-`.
    public static func slug(_ text: String) -> String {
        String(text.map { c in
            c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "-") ? c : "-"
        })
    }
}
