import DMLNumerics

/// The replicas of a data-parallel step as batch normalization sees them: each replica (an MPI
/// rank, say) runs the same network on its own rows of one batch, and a synchronized
/// `BatchNorm` normalizes every row with the statistics of the whole batch (SPEC §9).
///
/// The layer computes its per-replica partial results and hands them over here; it never knows
/// how they travel (the training module adapts its `Communicator`), so this module does not
/// depend on MPI. Both methods are collectives: every replica calls them in the same order with
/// buffers of the same length (every replica runs the same layers in the same order).
///
/// An implementation whose transport fails records the error for its owner, who reports it
/// after the pass, and returns this replica's values as if it were alone (`gather` returns
/// `local`, `sum` leaves `buffer` unchanged): the pass then finishes with local statistics, and
/// the step is discarded by the owner's error.
public protocol BatchStatisticsSynchronizer: AnyObject {
    /// `local` of every replica, concatenated in replica order (`k · local.count` values, `k`
    /// the replicas reached, the same on every replica).
    func gather(_ local: [Double]) -> [Double]
    /// `buffer_i ← Σ_r buffer_i^(r)` over the replicas, the same on every replica.
    func sum(_ buffer: inout [Double])
}

extension Layer {
    /// Hands `synchronizer` to every batch-norm layer of the model (nil: each normalizes with the
    /// statistics of its own rows). Layers with frozen statistics (`freezesStatistics`) keep it
    /// but never call it: their statistics do not depend on the batch.
    public func synchronizeBatchNorm(with synchronizer: (any BatchStatisticsSynchronizer)?) {
        if let bn = self as? BatchNorm<Scalar> { bn.synchronizer = synchronizer }
        visitDescendants { _, layer in (layer as? BatchNorm<Scalar>)?.synchronizer = synchronizer }
    }

    /// The batch-norm layers that normalize with batch statistics in training mode (those
    /// without frozen statistics): each costs one `gather` in the forward pass and one `sum` in
    /// the backward pass when synchronized.
    public var batchStatisticsLayerCount: Int {
        var count = (self as? BatchNorm<Scalar>).map { $0.freezesStatistics ? 0 : 1 } ?? 0
        visitDescendants { _, layer in
            if let bn = layer as? BatchNorm<Scalar>, !bn.freezesStatistics { count += 1 }
        }
        return count
    }
}

/// The global statistics of one batch-norm layer from the replicas' partial ones.
///
/// Replica `r` holds `n_r` values of each channel with mean `μ_r` and sum of squared deviations
/// `M2_r = Σ (x − μ_r)²`. The whole batch has `n = Σ_r n_r`, `μ = (1/n) Σ_r n_r μ_r` and
/// `M2 = Σ_r [M2_r + n_r (μ_r − μ)²]` (the pairwise-combination identity of Chan, Golub and
/// LeVeque), biased variance `σ² = M2 / n`. Every term is non-negative, so unlike
/// `σ² = E[x²] − μ²` from summed squares it loses no digits when `|μ| ≫ σ`.
public enum BatchStatisticsCombination {
    /// The layout of one replica's contribution for `channels` channels:
    /// `[n_r, μ_r(0..<C), M2_r(0..<C)]`.
    public static func contributionCount(channels: Int) -> Int { 1 + 2 * channels }

    /// Combines the contributions of `gathered` (replicas in order, each
    /// `contributionCount(channels:)` values) into `mean[c]` and the biased `variance[c]`, in
    /// replica order (so every replica computes the same bits). Returns the total count `n`.
    public static func combine(_ gathered: [Double], channels: Int,
                               mean: inout [Double], variance: inout [Double]) -> Double {
        let stride = contributionCount(channels: channels)
        precondition(gathered.count % stride == 0 && mean.count == channels && variance.count == channels,
                     "BatchStatisticsCombination: \(gathered.count) values do not hold contributions of \(channels) channels")
        let replicas = gathered.count / stride
        var total = 0.0
        for r in 0..<replicas { total += gathered[r * stride] }
        guard total > 0 else {
            for c in 0..<channels { mean[c] = 0; variance[c] = 0 }
            return 0
        }
        for c in 0..<channels {
            var weighted = 0.0
            for r in 0..<replicas { weighted += gathered[r * stride] * gathered[r * stride + 1 + c] }
            let mu = weighted / total
            var m2 = 0.0
            for r in 0..<replicas {
                let base = r * stride, n = gathered[base]
                let d = gathered[base + 1 + c] - mu
                m2 += gathered[base + 1 + channels + c] + n * d * d
            }
            mean[c] = mu
            variance[c] = m2 / total
        }
        return total
    }
}
