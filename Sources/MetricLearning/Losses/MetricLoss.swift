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
    ///
    /// With `memory` (a cross-batch memory, `CrossBatchMemory.points`), the memory points join
    /// the loss's sums as extra reference points: anchors stay batch rows, every (batch, memory)
    /// pair enters the sums a (batch, batch) pair would, memory–memory pairs do not (they are
    /// constants), and no gradient reaches a memory point. Each loss documents its exact rule.
    /// `nil` or an empty memory gives exactly the plain loss.
    ///
    /// With a `pool` of more than one thread, the work over the memory (the batch × memory
    /// GEMMs and the passes over their rows) is split over its workers by rows; a given thread
    /// count gives the same numbers run after run (`ReferenceGeometry`). `nil`: the calling thread.
    func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?,
                             pool: ThreadPool?) throws -> LossOutput<T>
}

extension MetricLoss {
    /// `L(X)` and `∂L/∂X` on the calling thread: `loss(embeddings, labels: labels, memory: memory, pool: nil)`.
    public func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?) throws -> LossOutput<T> {
        try loss(embeddings, labels: labels, memory: memory, pool: nil)
    }

    /// `L(X)` and `∂L/∂X` without memory: `loss(embeddings, labels: labels, memory: nil)`.
    public func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> LossOutput<T> {
        try loss(embeddings, labels: labels, memory: nil)
    }
}
