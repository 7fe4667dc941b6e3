import DMLNumerics

/// The multi-similarity loss (Wang et al., CVPR 2019), plain and with hard negative pair mining.
///
/// With `S = G` the Gram matrix of the embeddings as given (cosine similarities for normalized
/// embeddings), per anchor `i`:
/// `L_i = 1/α log(1 + Σ_{p ∈ P_i} exp(−α(S_ip − λ))) + 1/β log(1 + Σ_{n ∈ N_i} exp(β(S_in − λ)))`,
/// and `L = 1/B Σ_i L_i`, the mean over all `B` anchors (a part with no pair left is 0).
///
/// - plain: `P_i`, `N_i` are the positives (`p ≠ i`, `y_p = y_i`) and negatives of `i` kept by the
///   MS pair miner when `mining` is on (selection without gradient): negative `n` is kept if
///   `S_in + ε > min_p S_ip`, positive `p` if `S_ip − ε < max_n S_in`, both extremes over all the
///   anchor's positives and negatives.
/// - HNPM: the positive part runs over all original positives of `i` (no miner), the negative part
///   over one hardest pair per class: `1/β log(1 + Σ_{c ≠ y_i} exp(β(s⁺(g_i, c) − λ)))`, with
///   `s⁺(g_i, c) = max_{p ∈ g_i, n ∈ class c} S_pn` over originals and synthetic points, `g_i`
///   the group of `i`'s pair — with K > 2 the union of the groups containing `i`, and `{i}` alone
///   for a sample in no pair (`MiningSets.anchors`).
///
/// **Memory.** With memory points, the anchors stay the `B` batch rows; in the plain form `P_i`
/// and `N_i` also hold the memory points of `i`'s class and of other classes (the miner's
/// extremes run over them too); in HNPM the positive part stays over the batch positives of `i`
/// and the maxima `s⁺(g_i, c)` also range over the memory points of class c.
///
/// The gradient is exact, through `∂L/∂G` and one GEMM, then `AugmentedBatch.backward` in HNPM mode.
public struct MultiSimilarityLoss: HardNegativeMiningLoss, Codable, Equatable {
    /// `α`, the scale of the positive part (> 0).
    public var alpha: Double
    /// `β`, the scale of the negative part (> 0).
    public var beta: Double
    /// `λ`, the similarity offset.
    public var lambda: Double
    /// `ε`, the margin of the pair miner (≥ 0).
    public var epsilon: Double
    /// Whether the plain form applies the MS pair miner (never applied in HNPM mode).
    public var mining: Bool

    /// The multi-similarity loss with the spec's defaults `α = 2, β = 50, λ = 0.5, ε = 0.1`, miner on.
    public init(alpha: Double = 2, beta: Double = 50, lambda: Double = 0.5, epsilon: Double = 0.1, mining: Bool = true) {
        self.alpha = alpha
        self.beta = beta
        self.lambda = lambda
        self.epsilon = epsilon
        self.mining = mining
    }

    /// The plain multi-similarity loss (with its pair miner unless `mining` is off) and its gradient.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?,
                                     pool: ThreadPool?) throws -> LossOutput<T> {
        _ = try validate(embeddings, labels: labels)
        try memory?.requireDimension(embeddings.columns)
        let geometry = ReferenceGeometry(embeddings, memory: memory?.embeddings, distances: false, squared: false, pool: pool)
        let extra = MemoryPairs(labels: labels, memory: memory)
        let b = embeddings.rows, r = geometry.columns
        let margin = T(epsilon), a = T(alpha), bt = T(beta), l = T(lambda)
        let scale = 1 / T(b)
        // Rows are independent: each worker mines, scores and writes the ∂L/∂G rows of its
        // anchors (every entry of the row, zeros included: no zero fill of the A × R matrix
        // first), keeping the two log-sum-exp terms per anchor; the value adds them in anchor
        // order afterwards (the same at every thread count).
        var w = ReferenceGeometry<T>.unfilled(rows: b, columns: r)
        var rowTerms = [T](repeating: 0, count: 2 * b)  // positive part, then negative part, per anchor
        let mining = self.mining
        geometry.gram.withUnsafeBufferPointer { pg in
            w.withUnsafeMutableBufferPointer { pw in
                rowTerms.withUnsafeMutableBufferPointer { pt in
                    extra.columnLabels.withUnsafeBufferPointer { y in
                        let wOut = SendablePointer(pw.baseAddress!), termOut = SendablePointer(pt.baseAddress!)
                        ReferenceGeometry<T>.splitRows(b, pool: geometry.pool) { rows in
                            // Logits and their columns of one anchor's positives or negatives.
                            let logits = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, r))
                            let columns = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(1, r))
                            defer {
                                logits.deallocate()
                                columns.deallocate()
                            }
                            for i in rows {
                                let row = pg.baseAddress! + i * r, out = wOut.pointer + i * r
                                let yi = y[i]
                                var hardestPositive = T.infinity, hardestNegative = -T.infinity
                                if mining {
                                    for j in 0..<r where j != i {
                                        if y[j] == yi {
                                            hardestPositive = Swift.min(hardestPositive, row[j])
                                        } else {
                                            hardestNegative = Swift.max(hardestNegative, row[j])
                                        }
                                    }
                                }
                                out.update(repeating: 0, count: r)
                                // Positives: kept if S_ip − ε < max_n S_in.
                                var count = 0
                                for j in 0..<r where j != i && y[j] == yi && (!mining || row[j] - margin < hardestNegative) {
                                    logits[count] = -a * (row[j] - l)
                                    columns[count] = Int32(truncatingIfNeeded: j)
                                    count += 1
                                }
                                termOut.pointer[i] = scale / a * VectorMath.logOnePlusSumExp(overwritingWithWeights: logits, count: count)
                                for k in 0..<count { out[Int(columns[k])] -= scale * logits[k] }
                                // Negatives: kept if S_in + ε > min_p S_ip.
                                count = 0
                                for j in 0..<r where j != i && y[j] != yi && (!mining || row[j] + margin > hardestPositive) {
                                    logits[count] = bt * (row[j] - l)
                                    columns[count] = Int32(truncatingIfNeeded: j)
                                    count += 1
                                }
                                termOut.pointer[b + i] = scale / bt * VectorMath.logOnePlusSumExp(overwritingWithWeights: logits, count: count)
                                for k in 0..<count { out[Int(columns[k])] += scale * logits[k] }
                            }
                        }
                    }
                }
            }
        }
        // Σ_i of the positive parts, then of the negative parts (the order of `terms`).
        var value: T = 0
        for term in rowTerms { value += term }
        return LossOutput(value: value, gradient: geometry.backward(gram: w))
    }

    /// The HNPM multi-similarity loss over the points of `synthesis` and its gradient.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func hardNegativeLoss<T: BLASScalar>(
        _ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis, memory: MemoryPoints<T>?,
        sampling: NegativeClassSampling?, pool: ThreadPool?
    ) throws -> LossOutput<T> {
        try sampling?.validate()
        let statistics = try validate(embeddings, labels: labels)
        let augmented = try AugmentedSimilarities(embeddings, labels: labels, synthesis: synthesis, memory: memory, pool: pool)
        let b = embeddings.rows, n = augmented.size
        let hard = HardNegativePairMiner.hardestBySimilarity(augmented.geometry, batch: augmented.batch,
                                                             memoryLabels: augmented.memoryLabels,
                                                             sets: .anchors(Array(0..<b), in: augmented.batch), sampling: sampling)
        var positives = IndexLists(reservingLists: b, values: 2 * statistics.positivePairCount)
        for i in 0..<b {
            for j in 0..<b where j != i && labels[j] == labels[i] { positives.append(i * n + j) }
            positives.closeList()
        }
        let (value, w) = terms(gram: augmented.geometry.gram, anchors: b, positives: positives,
                               negatives: augmented.chosenPairEntries(hard))
        return augmented.output(value: value, gramGradient: w, syntheticFraction: hard.syntheticFraction)
    }

    /// Checks the batch and the options; returns the batch's pair counts.
    private func validate<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> LabelStatistics {
        for (name, value) in [("alpha", alpha), ("beta", beta)] where !(value > 0 && value.isFinite) {
            throw MetricLearningError.invalidOption(name: "multiSimilarity.\(name)", value: "\(value)", expected: "a finite number > 0")
        }
        guard lambda.isFinite else {
            throw MetricLearningError.invalidOption(name: "multiSimilarity.lambda", value: "\(lambda)", expected: "a finite number")
        }
        try MetricLearningError.requireFinite(epsilon, atLeast: 0, name: "multiSimilarity.epsilon")
        return try LabelStatistics.ofValidBatch(embeddings, labels: labels)
    }

    /// `1/B Σ_i [1/α log(1 + Σ_{e ∈ positives_i} exp(−α(G_e − λ))) + 1/β log(1 + Σ_{e ∈ negatives_i} exp(β(G_e − λ)))]`
    /// (entries `e` are flat indices into `G`) and its gradient with respect to `G`:
    /// `−w_e / B` for a positive entry, `+w_e / B` for a negative one, `w` the soft-max weights.
    private func terms<T: BLASScalar>(gram: Matrix<T>, anchors b: Int, positives: IndexLists, negatives: IndexLists) -> (T, Matrix<T>) {
        let a = T(alpha), bt = T(beta), l = T(lambda)
        let scale = 1 / T(b)
        var w = Matrix<T>(rows: gram.rows, columns: gram.columns)
        var logits = [T](repeating: 0, count: Swift.max(1, positives.longest, negatives.longest))
        var value: T = 0
        gram.withUnsafeBufferPointer { pg in
            w.withUnsafeMutableBufferPointer { pw in
                logits.withUnsafeMutableBufferPointer { pl in
                    let v = pl.baseAddress!
                    positives.values.withUnsafeBufferPointer { entries in
                        for i in 0..<b {
                            let start = positives.offsets[i], count = positives.offsets[i + 1] - start
                            for k in 0..<count { v[k] = -a * (pg[entries[start + k]] - l) }
                            value += scale / a * VectorMath.logOnePlusSumExp(overwritingWithWeights: v, count: count)
                            for k in 0..<count { pw[entries[start + k]] -= scale * v[k] }
                        }
                    }
                    negatives.values.withUnsafeBufferPointer { entries in
                        for i in 0..<b {
                            let start = negatives.offsets[i], count = negatives.offsets[i + 1] - start
                            for k in 0..<count { v[k] = bt * (pg[entries[start + k]] - l) }
                            value += scale / bt * VectorMath.logOnePlusSumExp(overwritingWithWeights: v, count: count)
                            for k in 0..<count { pw[entries[start + k]] += scale * v[k] }
                        }
                    }
                }
            }
        }
        return (value, w)
    }
}
