import DMLNumerics

/// The hard-negative-pair-mining form of the contrastive loss (§5):
///
/// `L = 1/|P| Σ_{(i,j)∈P} D²_ij + 1/(|P|(C−1)) Σ_{(i,j)∈P} Σ_{c≠y_i} [m − d⁻(s_ij, c)]_+²`,
///
/// with P the unordered positive pairs of the originals, C the number of classes and `s_ij` the
/// mining set of the pair (see `MinedPairBatch`). **Unordered class pairs.** With one pair per
/// class (C×2) the terms `(g_a, b)` and `(g_b, a)` are the same pair of points — both are the
/// closest pair between all points of class a and all points of class b — so the negative mean
/// is exactly the spec's mean over unordered class pairs `{a, b}`. With K > 2 the rule
/// generalizes to one term per (positive pair, negative class), like every other HNPM loss.
/// With `NegativeClassSampling` the negative mean runs over the kept (pair, class) terms.
/// With memory, C counts the classes of the batch and the memory together (see
/// `HardNegativeMiningLoss`), and `d⁻` is mined over both.
extension ContrastiveLoss: HardNegativeMiningLoss {
    /// `L(X)` and `∂L/∂X` of the HNPM form with the synthetic points of `synthesis`
    /// (`NoSynthesis()` mines the originals alone).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func hardNegativeLoss<T: BLASScalar>(
        _ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis, memory: MemoryPoints<T>?,
        sampling: NegativeClassSampling?, pool: ThreadPool?
    ) throws -> LossOutput<T> {
        try sampling?.validate()
        try validateOptions()
        let mined = try MinedPairBatch(embeddings, labels: labels, synthesis: synthesis, memory: memory, sampling: sampling, pool: pool)
        let n = mined.size, classCount = mined.hardest.classes.count
        let m = T(margin)
        let positiveWeight = 1 / T(mined.pairs.count)
        // |P|(C − 1) terms, or Σ_s m_s with negative class sampling: the mined pairs.
        let negativeCount = mined.hardest.pairCount
        let negativeWeight = 1 / T(negativeCount)
        var positiveSum = 0.0, negativeSum = 0.0
        var weights = mined.makeWeights()  // ∂L/∂D² over the augmented set (and the memory)
        mined.geometry.distances.withUnsafeBufferPointer { pd in
            mined.hardest.value.withUnsafeBufferPointer { hv in
                weights.withUnsafeMutableBufferPointer { pw in
                    for (s, pair) in mined.pairs.enumerated() {
                        let d = pd[pair.first * n + pair.second]
                        positiveSum += Double(d * d)
                        pw[pair.first * n + pair.second] += positiveWeight
                        for c in 0..<classCount where mined.hardest.isNegative(row: s, column: c) {
                            let k = s * classCount + c
                            let h = m - hv[k]
                            guard h > 0 else { continue }
                            negativeSum += Double(h * h)
                            pw[mined.hardest.groupPoint[k] * n + mined.hardest.classPoint[k]] -=
                                2 * h * negativeWeight * DistanceGradient.squaredPerDistance(hv[k])
                        }
                    }
                }
            }
        }
        let value = T(positiveSum / Double(mined.pairs.count) + negativeSum / Double(negativeCount))
        return mined.output(value: value, squared: weights)
    }
}
