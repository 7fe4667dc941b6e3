/// Why training cannot start or continue. Each description says what was expected.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// Fewer classes than a batch needs have enough samples.
    case notEnoughClasses(needed: Int, samplesPerClass: Int, available: Int)
    /// An option or configuration field is out of range.
    case invalidOption(name: String, value: String, expected: String)
    /// A configuration file could not be read.
    case invalidConfiguration(file: String, reason: String)
    /// A checkpoint could not be read or does not match the run.
    case invalidCheckpoint(file: String, reason: String)
    /// The loss became NaN or infinite.
    case divergence(iteration: Int)
    /// An invariant of the trainer itself failed (a defect, not bad input): which part, and what
    /// it found.
    case internalInconsistency(component: String, reason: String)

    public var description: String {
        switch self {
        case let .notEnoughClasses(needed, k, available):
            "a batch needs \(needed) classes with at least \(k) samples each, but the training split has only \(available) such classes; lower --classes-per-batch or --samples-per-class"
        case let .invalidOption(name, value, expected):
            "option \(name) = \(value) is invalid; expected \(expected)"
        case let .invalidConfiguration(file, reason):
            "\(file): \(reason)"
        case let .invalidCheckpoint(file, reason):
            "\(file): \(reason)"
        case let .divergence(iteration):
            "the loss became NaN or infinite at iteration \(iteration); lower the learning rate"
        case let .internalInconsistency(component, reason):
            "internal error in the \(component): \(reason) (a defect of dml, not of the input; please report it)"
        }
    }
}
