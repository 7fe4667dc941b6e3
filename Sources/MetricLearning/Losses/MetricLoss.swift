import DMLNumerics

/// A loss over a labelled batch of embeddings in its plain form (§3 of the spec): every pair of
/// the batch takes part, with the per-loss selection and normalization its type documents.
///
/// `loss(_:labels:)` returns `L(X)` and the exact gradient `∂L/∂X` (same shape as `X`).
/// Implementations validate their input (one finite embedding per label, see
/// `MetricLearningError.validate`) and throw `MetricLearningError` when the batch cannot be
/// scored (e.g. no positive pair).
public protocol MetricLoss: Sendable {
    /// `L(X)` and `∂L/∂X` for the embeddings `X` (B × d, one row per sample) with labels `y`
    /// (`labels.count == B`).
    func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> LossOutput<T>
}
