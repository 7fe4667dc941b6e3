import DMLNumerics

/// How the synthetic points of an `AugmentedBatch` were made: what its backward pass needs.
enum SyntheticOrigin<T: BLASScalar>: Sendable {
    /// No synthetic point.
    case none
    /// Embedding Expansion: point `t` of a pair `(i, j)` is `a_t·x_i + (1 − a_t)·x_j`, then
    /// divided by its norm when `inverseNorms` is set (one `1/‖x̄‖` per synthetic point, 0 for a
    /// zero `x̄`).
    case expansion(firstWeights: [T], inverseNorms: [T]?)
    /// Symmetrical Synthesis with its `α` and `β`: two points per pair, `x'_first` then `x'_second`.
    case symmetrical(alpha: T, beta: T)
}
