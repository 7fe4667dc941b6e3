import DMLNumerics

/// The N-pair loss (Sohn, NeurIPS 2016), plain and with hard negative pair mining.
///
/// The (anchor, positive) pairs `(i, i⁺)` are the `adjacent` pairs (samples `2t`, `2t+1` of a
/// class in batch order; an odd last sample is left out). With `s_ik⁺ = x_i · x_k⁺` (`x_k⁺` the
/// positive of pair `k`) and `P` the pairs:
///
/// - plain: `L = 1/|P| Σ_{(i,i⁺)} log(1 + Σ_{k: y_k ≠ y_i} exp(s_ik⁺ − s_ii⁺)) + λ · mean‖x‖²`;
/// - HNPM: `L = 1/|P| Σ_{(i,j)} log(1 + Σ_{c ≠ y_i} exp(s⁺(g_ij, c) − x_i·x_j)) + λ · mean‖x‖²`,
///   with `s⁺(g_ij, c) = max_{p ∈ g_ij, n ∈ class c} x_p·x_n` over originals and synthetic points
///   (`MiningSets.pairs`: the pair's group; with K > 2 the union of the groups containing `i` or `j`).
///
/// **Memory.** With memory points `m_k`, each pair's sum also runs over the memory points of
/// other classes, which play the part of other pairs' positives: plain
/// `Σ_{k: y_k ≠ y_i} exp(s_ik⁺ − s_ii⁺) + Σ_{m: y_m ≠ y_i} exp(x_i·m − s_ii⁺)`; in HNPM the
/// maxima `s⁺(g_ij, c)` also range over the memory points of class c (and memory-only classes).
///
/// The penalty `λ · mean‖x‖²` runs over the `2|P|` paired samples (originals only). Similarities
/// are dot products of the embeddings as given (no normalization inside the loss). The gradient
/// is exact, through `∂L/∂G` and one GEMM (`PairwiseDistances.backward(gram:)`), then
/// `AugmentedBatch.backward` in HNPM mode.
public struct NPairLoss: HardNegativeMiningLoss, Codable, Equatable {
    /// `λ`, the weight of the L2 penalty on the paired embeddings (≥ 0).
    public var l2Penalty: Double

    /// The N-pair loss with `λ = 0.002` by default.
    public init(l2Penalty: Double = 0.002) {
        self.l2Penalty = l2Penalty
    }

    /// The plain N-pair loss and its gradient.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?,
                                     pool: ThreadPool?) throws -> LossOutput<T> {
        let pairs = try anchorPositivePairs(embeddings, labels: labels)
        try memory?.requireDimension(embeddings.columns)
        let geometry = ReferenceGeometry(embeddings, memory: memory?.embeddings, distances: false, squared: false, pool: pool)
        let memoryLabels = memory?.labels ?? []
        let (value, w) = plainTerms(gram: geometry.gram, batch: embeddings.rows, pairs: pairs, memoryLabels: memoryLabels, pool: pool)
        return LossOutput(value: value, gradient: geometry.backward(gram: w))
    }

    /// The HNPM N-pair loss over the points of `synthesis` and its gradient.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func hardNegativeLoss<T: BLASScalar>(
        _ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis, memory: MemoryPoints<T>?,
        sampling: NegativeClassSampling?, pool: ThreadPool?
    ) throws -> LossOutput<T> {
        try sampling?.validate()
        let pairs = try anchorPositivePairs(embeddings, labels: labels)
        let augmented = try AugmentedSimilarities(embeddings, labels: labels, synthesis: synthesis, memory: memory, pool: pool)
        let hard = HardNegativePairMiner.hardestBySimilarity(augmented.geometry, batch: augmented.batch,
                                                             memoryLabels: augmented.memoryLabels,
                                                             sets: .pairs(pairs, in: augmented.batch), sampling: sampling)
        let (value, w) = terms(gram: augmented.geometry.gram, pairs: pairs, negatives: augmented.chosenPairEntries(hard))
        return augmented.output(value: value, gramGradient: w, syntheticFraction: hard.syntheticFraction)
    }

    /// `terms` of the plain form, pair by pair on `pool`: the negatives of pair `(i, i⁺)` are the
    /// positives of the other pairs of another class, then the memory columns of another class.
    /// A pair writes only its own two rows of `∂L/∂G` (adjacent pairs share no sample), after a
    /// pooled zero fill; the value adds each pair's two terms in pair order, exactly as `terms`
    /// does, and every weight is the one `terms` writes into its zero matrix (each entry is
    /// written once), so the result is the same bits at every thread count.
    private func plainTerms<T: BLASScalar>(gram: Matrix<T>, batch b: Int, pairs: [PositivePair], memoryLabels: [Int],
                                           pool: ThreadPool?) -> (T, Matrix<T>) {
        let n = gram.columns, rows = gram.rows
        let scale = 1 / T(pairs.count)
        let penalty = T(l2Penalty) / T(2 * pairs.count)
        var owner = [Bool](repeating: false, count: rows)
        for pair in pairs {
            precondition(!owner[pair.first] && !owner[pair.second], "N-pair pairs must not share a sample")
            owner[pair.first] = true
            owner[pair.second] = true
        }
        var w = ReferenceGeometry<T>.zeros(rows: rows, columns: n, pool: pool)
        var pairTerms = [T](repeating: 0, count: 2 * pairs.count)
        gram.withUnsafeBufferPointer { pg in
            w.withUnsafeMutableBufferPointer { pw in
                pairTerms.withUnsafeMutableBufferPointer { pt in
                    memoryLabels.withUnsafeBufferPointer { my in
                        let wOut = SendablePointer(pw.baseAddress!), termOut = SendablePointer(pt.baseAddress!)
                        ReferenceGeometry<T>.splitRows(pairs.count, pool: pool) { range in
                            let v = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, n))
                            let columns = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(1, n))
                            defer {
                                v.deallocate()
                                columns.deallocate()
                            }
                            let pw = wOut.pointer
                            for p in range {
                                let pair = pairs[p]
                                let row = pg.baseAddress! + pair.first * n, out = pw + pair.first * n
                                let positive = row[pair.second]
                                var count = 0
                                for other in pairs where other.label != pair.label {
                                    v[count] = row[other.second] - positive
                                    columns[count] = Int32(truncatingIfNeeded: other.second)
                                    count += 1
                                }
                                for k in 0..<my.count where my[k] != pair.label {
                                    v[count] = row[b + k] - positive
                                    columns[count] = Int32(truncatingIfNeeded: b + k)
                                    count += 1
                                }
                                termOut.pointer[2 * p] = scale * VectorMath.logOnePlusSumExp(overwritingWithWeights: v, count: count)
                                var total: T = 0
                                for k in 0..<count {
                                    out[Int(columns[k])] += scale * v[k]
                                    total += v[k]
                                }
                                out[pair.second] -= scale * total
                                // λ · mean‖x‖² over the paired samples: ‖x_s‖² = G_ss.
                                let first = pair.first * (n + 1), second = pair.second * (n + 1)
                                termOut.pointer[2 * p + 1] = penalty * (pg[first] + pg[second])
                                pw[first] += penalty
                                pw[second] += penalty
                            }
                        }
                    }
                }
            }
        }
        var value: T = 0
        for term in pairTerms { value += term }
        return (value, w)
    }

    /// The adjacent pairs of a valid batch with valid options.
    private func anchorPositivePairs<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> [PositivePair] {
        try MetricLearningError.requireFinite(l2Penalty, atLeast: 0, name: "npair.l2Penalty")
        return try AnchorPositivePairs.adjacent(embeddings, labels: labels)
    }

    /// `1/|P| Σ_r log(1 + Σ_{e ∈ negatives_r} exp(G_e − G_{i_r j_r})) + λ/(2|P|) Σ_{paired s} G_ss`
    /// (entries `e` are flat indices into `G`, `A × R`, row stride `R`) and its gradient with
    /// respect to `G`.
    private func terms<T: BLASScalar>(gram: Matrix<T>, pairs: [PositivePair], negatives: IndexLists) -> (T, Matrix<T>) {
        let n = gram.columns
        var w = Matrix<T>(rows: gram.rows, columns: n)
        var logits = [T](repeating: 0, count: Swift.max(1, negatives.longest))
        let scale = 1 / T(pairs.count)
        let penalty = T(l2Penalty) / T(2 * pairs.count)
        var value: T = 0
        gram.withUnsafeBufferPointer { pg in
            w.withUnsafeMutableBufferPointer { pw in
                logits.withUnsafeMutableBufferPointer { pl in
                    negatives.values.withUnsafeBufferPointer { entries in
                        let v = pl.baseAddress!
                        for (r, pair) in pairs.enumerated() {
                            let positive = pair.first * n + pair.second
                            let start = negatives.offsets[r], count = negatives.offsets[r + 1] - start
                            for k in 0..<count { v[k] = pg[entries[start + k]] - pg[positive] }
                            value += scale * VectorMath.logOnePlusSumExp(overwritingWithWeights: v, count: count)
                            var total: T = 0
                            for k in 0..<count {
                                pw[entries[start + k]] += scale * v[k]
                                total += v[k]
                            }
                            pw[positive] -= scale * total
                            // λ · mean‖x‖² over the paired samples: ‖x_s‖² = G_ss.
                            let first = pair.first * (n + 1), second = pair.second * (n + 1)
                            value += penalty * (pg[first] + pg[second])
                            pw[first] += penalty
                            pw[second] += penalty
                        }
                    }
                }
            }
        }
        return (value, w)
    }
}
