import DMLNumerics

/// A plug-in that adds synthetic points to a batch of embeddings (§4 of the spec).
///
/// `augment` returns the originals (rows `0..<B`, in batch order) followed by the synthetic
/// points, each tagged with the class and the group (generating positive pair) it came from.
/// The returned batch carries its own backward pass (`AugmentedBatch.backward`).
public protocol EmbeddingSynthesis: Sendable {
    /// The augmented point set of a labelled batch.
    ///
    /// - Throws: `MetricLearningError` when there is not one finite embedding per label.
    func augment<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> AugmentedBatch<T>
}
