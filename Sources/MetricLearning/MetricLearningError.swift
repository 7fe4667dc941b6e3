/// Why a loss, a synthesis or a miner cannot run on a batch. Each case's description says what
/// was expected.
public enum MetricLearningError: Error, Equatable, CustomStringConvertible {
    /// `labels.count` differs from the number of embeddings.
    case labelCountMismatch(embeddings: Int, labels: Int)
    /// An embedding has a NaN or infinite coordinate.
    case nonFinite(row: Int, column: Int)
    /// The batch has no positive pair (no two samples share a label), so a loss built on
    /// positive pairs has no term.
    case noPositivePair
    /// The batch has a single class, so there is no negative pair.
    case noNegativePair
    /// An option is out of its valid range.
    case invalidOption(name: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .labelCountMismatch(embeddings, labels):
            "there are \(labels) labels for \(embeddings) embeddings; expected one label per embedding row"
        case let .nonFinite(row, column):
            "embedding row \(row), column \(column) is NaN or infinite; expected finite values"
        case .noPositivePair:
            "the batch has no positive pair (no two samples share a label); expected at least one class with 2 or more samples"
        case .noNegativePair:
            "the batch has a single class; expected at least two classes"
        case let .invalidOption(name, value, expected):
            "option \(name) = \(value) is invalid; expected \(expected)"
        }
    }

    /// Checks the common preconditions of every loss: one finite embedding per label.
    public static func validate<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws {
        guard embeddings.rows == labels.count else {
            throw MetricLearningError.labelCountMismatch(embeddings: embeddings.rows, labels: labels.count)
        }
        if let bad = embeddings.firstNonFinite { throw MetricLearningError.nonFinite(row: bad.row, column: bad.column) }
    }
}

import DMLNumerics
