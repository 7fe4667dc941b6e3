import DMLNumerics

/// The hard-negative-pair-mining form of the lifted structured loss (§5):
///
/// `J_ij = log Σ_{c≠y_i} exp(α − d⁻(s_ij, c)) + D_ij` for every unordered positive pair `(i, j)`
/// of the originals, `L = 1/(2|P|) Σ_{(i,j)∈P} [J_ij]_+²`, with `s_ij` the pair's mining set (see
/// `MinedPairBatch`; with C×2 batches it is the group `g_ij`). The log-sum-exp is max-shifted.
///
/// Gradient: `∂L/∂D_ij = J⁺_ij/|P|` and, for the mined pair of class c,
/// `∂L/∂d⁻(s_ij, c) = −(J⁺_ij/|P|) · softmax_c(α − d⁻(s_ij, ·))`.
extension LiftedStructuredLoss: HardNegativeMiningLoss {
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
        let hardest = mined.hardest
        let alpha = T(margin)
        let pairWeight = 1 / T(mined.pairs.count)
        var total = 0.0
        var weights = mined.makeWeights()  // ∂L/∂D² over the augmented set (and the memory)
        var exponentials = [T](repeating: 0, count: classCount)  // exp(α − d⁻_c − μ) of one set
        mined.geometry.distances.withUnsafeBufferPointer { pd in
            hardest.value.withUnsafeBufferPointer { hv in
                weights.withUnsafeMutableBufferPointer { pw in
                  exponentials.withUnsafeMutableBufferPointer { pe in
                    let e = pe.baseAddress!
                    for (s, pair) in mined.pairs.enumerated() {
                        let row = s * classCount
                        var nearest = T.infinity
                        for c in 0..<classCount where hardest.isNegative(row: s, column: c) { nearest = min(nearest, hv[row + c]) }
                        for c in 0..<classCount { e[c] = nearest - hv[row + c] }
                        VectorMath.exponentiate(e, count: classCount)
                        var sum: T = 0  // Σ_c exp(α − d⁻_c − μ), μ = α − min_c d⁻_c
                        for c in 0..<classCount where hardest.isNegative(row: s, column: c) { sum += e[c] }
                        let dij = pd[pair.first * n + pair.second]
                        let J = alpha - nearest + T.log(sum) + dij
                        guard J > 0 else { continue }
                        total += Double(J * J)
                        let dJ = J * pairWeight
                        pw[pair.first * n + pair.second] += dJ * DistanceGradient.squaredPerDistance(dij)
                        for c in 0..<classCount where hardest.isNegative(row: s, column: c) {
                            let k = row + c
                            pw[hardest.groupPoint[k] * n + hardest.classPoint[k]] -=
                                dJ * e[c] / sum * DistanceGradient.squaredPerDistance(hv[k])
                        }
                    }
                  }
                }
            }
        }
        return mined.output(value: T(total / Double(2 * mined.pairs.count)), squared: weights)
    }
}
