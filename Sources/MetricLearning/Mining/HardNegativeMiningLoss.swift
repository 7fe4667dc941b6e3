import DMLNumerics

/// A loss with a hard-negative-pair-mining (HNPM) form (§5 of the spec): its positive terms are
/// those of the original pairs, its negative terms the hardest negative pairs `d⁻(g, c)` (or
/// `s⁺(g, c)`) of each positive pair's group `g`, one per negative class `c`, mined over the
/// originals and the points of `synthesis`; regularizers are unchanged.
public protocol HardNegativeMiningLoss: MetricLoss {
    /// The HNPM form of the loss on `embeddings`, augmented by `synthesis` (`NoSynthesis` for
    /// HNPM on the originals alone). The gradient is with respect to the originals, carried
    /// through the synthesis unless it detaches; `syntheticFraction` is the share of mined
    /// pairs involving a synthetic point (`nil` when nothing was synthesized).
    ///
    /// With `memory`, "the points of class c" in `d⁻(g, c)` (`s⁺(g, c)`) are its originals,
    /// its synthetic points and its memory points; a class present only in the memory is a
    /// negative class too. The groups, the positive terms and the synthesis stay those of the
    /// batch (memory pairs synthesize nothing), and no gradient reaches a memory point. `nil`
    /// or an empty memory gives exactly the HNPM loss without memory.
    ///
    /// With `sampling`, each mining set's negative terms run over a random subset of its
    /// negative classes (`NegativeClassSampling`); `nil` mines every class.
    ///
    /// With a `pool`, the geometry, the mining and the backward over the memory run on its
    /// workers (see `MetricLoss.loss(_:labels:memory:pool:)`).
    func hardNegativeLoss<T: BLASScalar>(
        _ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis, memory: MemoryPoints<T>?,
        sampling: NegativeClassSampling?, pool: ThreadPool?
    ) throws -> LossOutput<T>
}

extension HardNegativeMiningLoss {
    /// The HNPM loss on the calling thread: `hardNegativeLoss(…, sampling: sampling, pool: nil)`.
    public func hardNegativeLoss<T: BLASScalar>(
        _ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis, memory: MemoryPoints<T>?,
        sampling: NegativeClassSampling?
    ) throws -> LossOutput<T> {
        try hardNegativeLoss(embeddings, labels: labels, synthesis: synthesis, memory: memory, sampling: sampling, pool: nil)
    }

    /// The HNPM loss without memory: `hardNegativeLoss(embeddings, labels:, synthesis:, memory: nil)`.
    public func hardNegativeLoss<T: BLASScalar>(
        _ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis
    ) throws -> LossOutput<T> {
        try hardNegativeLoss(embeddings, labels: labels, synthesis: synthesis, memory: nil, sampling: nil)
    }

    /// The HNPM loss over every negative class: `hardNegativeLoss(embeddings, labels:, synthesis:, memory:, sampling: nil)`.
    public func hardNegativeLoss<T: BLASScalar>(
        _ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis, memory: MemoryPoints<T>?
    ) throws -> LossOutput<T> {
        try hardNegativeLoss(embeddings, labels: labels, synthesis: synthesis, memory: memory, sampling: nil)
    }
}
