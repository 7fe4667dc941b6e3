/// One run of an experiment grid: its identity, its training configuration and the name of
/// its run directory.
public struct RunSpec: Sendable, Equatable {
    /// Loss, mode and seed.
    public let identity: RunIdentity
    /// The training configuration: the grid's base object with `"mode"` and `"seed"` set, and
    /// `"loss"` set to the loss name (or, when the base's `"loss"` is an object, its `"name"` set).
    public let config: [String: JSONValue]

    /// The spec of `identity` over the base configuration `base`.
    public init(identity: RunIdentity, base: [String: JSONValue]) {
        self.identity = identity
        var config = base
        if case .object(var lossObject)? = base["loss"] {
            lossObject["name"] = .string(identity.loss)
            config["loss"] = .object(lossObject)
        } else {
            config["loss"] = .string(identity.loss)
        }
        config["mode"] = .string(identity.mode)
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
