/// Which triplets `(a, p, n)` a triplet loss scores.
public enum TripletSelection: String, Codable, Sendable, CaseIterable {
    /// Every triplet: every ordered anchor `a`, every positive `p ≠ a` of its class, every
    /// negative `n` of another class. In the HNPM form: every (pair, negative class) term.
    case all
    /// Semi-hard triplets only: `M_ap < M_an < M_ap + m` (M the distance or squared distance the
    /// loss uses). In the HNPM form the same condition on `M_ij` and the mined `d⁻(g, c)`.
    case semihard
    /// Batch-hard, "HPHN": per anchor, its hardest positive (largest `M_ap`) and its hardest
    /// negative (smallest `M_an`), ties broken by the lowest index; one triplet per anchor. In
    /// the HNPM form: per pair, the hardest negative class (smallest `d⁻(g, c)`).
    case hardest
}

/// How a triplet loss averages its selected triplets.
public enum TripletReduction: String, Codable, Sendable, CaseIterable {
    /// The mean over all selected triplets, zero-loss ones included.
    case mean
    /// The mean over the selected triplets whose loss is non-zero (0 if there is none).
    case nonzero
}
