import DMLNumerics

/// Reference points from outside the batch (a cross-batch memory): `N` embeddings with their
/// labels, used by every loss as extra, constant reference points (no gradient reaches them).
///
/// Column `A + k` of a loss's `A × (A + N)` geometry (`ReferenceGeometry`) is memory row `k`;
/// ties of every arg-min and arg-max go to the lowest column, so batch points come before memory
/// points and memory points are taken in row order.
public struct MemoryPoints<T: BLASScalar>: Sendable {
    /// The memory embeddings, `N × d`.
    public let embeddings: Matrix<T>
    /// The label of every memory row.
    public let labels: [Int]

    /// Memory points; throws `labelCountMismatch` or `nonFinite` (row and column named) for
    /// invalid input.
    public init(embeddings: Matrix<T>, labels: [Int]) throws {
        try MetricLearningError.validate(embeddings, labels: labels)
        self.embeddings = embeddings
        self.labels = labels
    }

    /// An unchecked memory (the queue validates what it enqueues).
    init(unchecked embeddings: Matrix<T>, labels: [Int]) {
        self.embeddings = embeddings
        self.labels = labels
    }

    /// `N`, the number of memory points.
    public var count: Int { embeddings.rows }

    /// Whether the memory holds no point.
    public var isEmpty: Bool { embeddings.rows == 0 }

    /// Throws `invalidOption` unless the memory has the batch's dimension `d` (an empty memory
    /// of any width is accepted).
    func requireDimension(_ d: Int) throws {
        guard isEmpty || embeddings.columns == d else {
            throw MetricLearningError.invalidOption(
                name: "memory dimension", value: "\(embeddings.columns)",
                expected: "the embedding dimension of the batch, \(d)")
        }
    }
}
