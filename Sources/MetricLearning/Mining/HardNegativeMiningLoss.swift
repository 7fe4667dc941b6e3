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
    func hardNegativeLoss<T: BLASScalar>(
        _ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis
    ) throws -> LossOutput<T>
}
