import DMLNumerics

/// The lifted structured loss (Oh Song et al. 2016, eq. 4) with its smooth upper bound:
///
/// for each unordered positive pair `(i, j) ∈ P` (`i < j`, `y_i = y_j`),
/// `J_ij = log( Σ_{k: y_k≠y_i} exp(α − D_ik) + Σ_{l: y_l≠y_j} exp(α − D_jl) ) + D_ij`,
/// and `L = 1/(2|P|) Σ_{(i,j)∈P} [J_ij]_+²`,
///
/// with `D` the plain Euclidean distance. The log-sum-exp is max-shifted: with
/// `μ_i = max_k (α − D_ik)` and `t_i = Σ_k exp(α − D_ik − μ_i)` over the negatives of i,
/// `s_i = e^{μ_i} t_i` and `log(s_i + s_j)` is evaluated as a log-add-exp of `μ_i + log t_i`
/// and `μ_j + log t_j`.
///
/// Gradient: `∂L/∂D_ij = J⁺_ij / |P|` and, for a negative k of i,
/// `∂L/∂D_ik = −exp(α − D_ik − μ_i) · Σ_{j:(i,j)∈P} (J⁺_ij / |P|) exp(μ_i − log(s_i + s_j))`
/// (every factor ≤ 1, so nothing overflows), passed on as `∂L/∂D² = ∂L/∂D / (2D)`; then one
/// GEMM through `PairwiseDistances.backward`.
///
/// **Memory.** With memory points, the negatives `k` of a batch row i also run over the memory
/// points of other classes, and P also holds every (batch row i, memory row k) pair with
/// `y_i = y_k`, scored with the batch member's negatives only (a memory point is a reference,
/// not an anchor: its own negative sum would need memory–memory distances and carries no
/// gradient): `J_ik = log Σ_{l: y_l≠y_i} exp(α − D_il) + D_ik`. `L = 1/(2|P|) Σ [J]_+²` over the
/// enlarged P.
///
/// The hard-negative-pair-mining form is in `LiftedStructuredLoss+HardNegativeMining.swift`.
public struct LiftedStructuredLoss: MetricLoss, Codable, Equatable, Sendable {
    /// The margin `α` [1].
    public var margin: Double

    /// A lifted structured loss with margin `α` (default 1).
    public init(margin: Double = 1) {
        self.margin = margin
    }

    /// Throws `invalidOption` if the margin is negative or not finite.
    public func validateOptions() throws {
        try MetricLearningError.requireFinite(margin, atLeast: 0, name: "lifted margin")
    }

    /// `L(X)` and `∂L/∂X` of the plain form (see the type's documentation). Throws when the batch
    /// has no positive pair or a single class.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?,
                                     pool: ThreadPool?) throws -> LossOutput<T> {
        try validateOptions()
        let statistics = try LabelStatistics.ofValidBatch(embeddings, labels: labels)
        try memory?.requireDimension(embeddings.columns)
        let extra = MemoryPairs(labels: labels, memory: memory)
        let positivePairCount = statistics.positivePairCount + extra.positivePairCount

        let geometry = ReferenceGeometry(embeddings, memory: memory?.embeddings, squared: false, pool: pool)
        let b = geometry.rows, n = geometry.columns
        let alpha = T(margin)
        let pairWeight = 1 / T(positivePairCount)
        // scaled[i, k] = exp(α − D_ik − μ_i) / (2 D_ik) for the negatives k of i (0 elsewhere):
        // the factor that turns the negative's share of J into ∂/∂D²_ik.
        var scaled = ReferenceGeometry<T>.unfilled(rows: b, columns: n)  // every entry written below
        var rowTerms = [T](repeating: 0, count: 3 * b)  // μ_i, log s_i, Σ_j (J⁺_ij/|P|) e^{μ_i − log(s_i+s_j)}
        // ∂L/∂D²: every entry written by the per-row pass below (no zero fill first).
        var weights = ReferenceGeometry<T>.unfilled(rows: b, columns: n)
        var pairWeights = [T](repeating: 0, count: b * b)  // ∂L/∂D² of the batch pairs (i < j)
        var memoryTotals = [Double](repeating: 0, count: b)  // Σ J² of each row's memory positives
        var total = 0.0
        geometry.distances.withUnsafeBufferPointer { pd in
            extra.columnLabels.withUnsafeBufferPointer { y in
                rowTerms.withUnsafeMutableBufferPointer { terms in
                    let shift = terms.baseAddress!, logSum = shift + b, negativeScale = shift + 2 * b
                    scaled.withUnsafeMutableBufferPointer { pe in
                        // Rows are independent: one pass for the nearest negative, one writing the
                        // exponents in place, one vectorized exp, one for t_i and the factors.
                        let outBase = SendablePointer(pe.baseAddress!), termBase = SendablePointer(shift)
                        ReferenceGeometry<T>.splitRows(b, pool: geometry.pool) { rows in
                            for i in rows {
                                let row = pd.baseAddress! + i * n, out = outBase.pointer + i * n
                                let yi = y[i]
                                var nearest = T.infinity
                                for k in 0..<n where y[k] != yi { nearest = min(nearest, row[k]) }
                                // exp(α − D_ik − μ_i) with μ_i = α − nearest, for the negatives.
                                for k in 0..<n { out[k] = nearest - row[k] }
                                VectorMath.exponentiate(out, count: n)
                                var t: T = 0
                                for k in 0..<n {
                                    let negative = y[k] != yi
                                    t += negative ? out[k] : 0
                                    out[k] = negative ? out[k] * DistanceGradient.squaredPerDistance(row[k]) : 0
                                }
                                termBase.pointer[i] = alpha - nearest
                                termBase.pointer[b + i] = alpha - nearest + T.log(t)
                            }
                        }
                    }
                    // Batch pairs (i < j): on the calling thread, in row order (a pair adds to
                    // the factors of both rows).
                    for i in 0..<b {
                        for j in (i + 1)..<max(b, i + 1) where y[j] == y[i] {
                            let logPair = StableMath.logAddExp(logSum[i], logSum[j])
                            let dij = pd[i * n + j]
                            let J = logPair + dij
                            guard J > 0 else { continue }
                            total += Double(J * J)
                            let dJ = J * pairWeight
                            pairWeights[i * b + j] += dJ * DistanceGradient.squaredPerDistance(dij)
                            negativeScale[i] += dJ * T.exp(shift[i] - logPair)
                            negativeScale[j] += dJ * T.exp(shift[j] - logPair)
                        }
                    }
                    // Per row on the pool: the (batch row, memory row) positives, J_ik = log s_i +
                    // D_ik, complete the row's factor; then every entry of the row's weights.
                    weights.withUnsafeMutableBufferPointer { pw in
                        scaled.withUnsafeBufferPointer { pe in
                            pairWeights.withUnsafeBufferPointer { pp in
                                memoryTotals.withUnsafeMutableBufferPointer { pt in
                                    let outBase = SendablePointer(pw.baseAddress!), scales = SendablePointer(negativeScale)
                                    let totalOut = SendablePointer(pt.baseAddress!)
                                    ReferenceGeometry<T>.splitRows(b, pool: geometry.pool) { rows in
                                        for i in rows {
                                            let yi = y[i], row = pd.baseAddress! + i * n
                                            let out = outBase.pointer + i * n, e = pe.baseAddress! + i * n
                                            var s = scales.pointer[i], rowTotal = 0.0
                                            for k in b..<n where y[k] == yi {
                                                let dik = row[k]
                                                let J = logSum[i] + dik
                                                var weight: T = 0
                                                if J > 0 {
                                                    rowTotal += Double(J * J)
                                                    let dJ = J * pairWeight
                                                    weight = dJ * DistanceGradient.squaredPerDistance(dik)
                                                    s += dJ * T.exp(shift[i] - logSum[i])
                                                }
                                                out[k] = weight
                                            }
                                            totalOut.pointer[i] = rowTotal
                                            // Positives keep their weight (their factor e is 0),
                                            // negatives get −s·e.
                                            for j in 0..<b { out[j] = y[j] == yi ? pp[i * b + j] : 0 - s * e[j] }
                                            for k in b..<n where y[k] != yi { out[k] = 0 - s * e[k] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for rowTotal in memoryTotals { total += rowTotal }
        let value = T(total / Double(2 * positivePairCount))
        return LossOutput(value: value, gradient: geometry.backward(squared: weights))
    }
}
