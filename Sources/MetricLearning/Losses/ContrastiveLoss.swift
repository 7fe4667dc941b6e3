import DMLNumerics

/// The contrastive loss (Hadsell et al. 2006) over the unordered pairs of a batch:
///
/// `L = 1/|P| Σ_{(i,j)∈P} D²_ij + 1/|N| Σ_{(i,j)∈N} [m − D_ij]_+²`,
///
/// where P and N are the unordered positive and negative pairs (`i < j`) and `D` is the
/// Euclidean distance. Gradient (through `PairwiseDistances.backward`, one GEMM):
/// `∂L/∂D²_ij = 1/|P|` on positive pairs and `∂L/∂D_ij = −2 [m − D_ij]_+ / |N|` on negative
/// ones, passed on as `∂L/∂D²_ij = −[m − D_ij]_+ / (D_ij |N|)`.
///
/// **Memory.** With memory points `m_k`, P and N also hold every (batch row i, memory row k)
/// pair with `y_i = y_k` (resp. `≠`), with `D_ik = ‖x_i − m_k‖`; the means run over the enlarged
/// sets, `|P| = |P_batch| + #{(i, k): y_i = y_k}` and likewise `|N|`.
///
/// The hard-negative-pair-mining form is in `ContrastiveLoss+HardNegativeMining.swift`.
public struct ContrastiveLoss: MetricLoss, Codable, Equatable, Sendable {
    /// The margin `m` beyond which a negative pair costs nothing [1].
    public var margin: Double

    /// A contrastive loss with margin `m` (default 1).
    public init(margin: Double = 1) {
        self.margin = margin
    }

    /// Throws `invalidOption` if the margin is negative or not finite.
    public func validateOptions() throws {
        try MetricLearningError.requireFinite(margin, atLeast: 0, name: "contrastive margin")
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
        let negativePairCount = statistics.negativePairCount + extra.negativePairCount

        let geometry = ReferenceGeometry(embeddings, memory: memory?.embeddings, squared: false, pool: pool)
        let b = geometry.rows, n = geometry.columns
        let m = T(margin)
        let positiveWeight = 1 / T(positivePairCount)
        let negativeWeight = 1 / T(negativePairCount)
        // Rows are independent: each worker writes every entry of its rows of ∂L/∂D²_ij (upper
        // triangle and memory block; zeros elsewhere, so no zero fill first) and the two row
        // sums, which are added in row order afterwards (the same at every thread count).
        var weights = ReferenceGeometry<T>.unfilled(rows: b, columns: n)
        var rowSums = [T](repeating: 0, count: 2 * b)  // Σ_j D²_ij over positives, Σ_j [m − D_ij]_+² over negatives
        geometry.distances.withUnsafeBufferPointer { pd in
            weights.withUnsafeMutableBufferPointer { pw in
                rowSums.withUnsafeMutableBufferPointer { ps in
                    extra.columnLabels.withUnsafeBufferPointer { y in
                        let wOut = SendablePointer(pw.baseAddress!), sumOut = SendablePointer(ps.baseAddress!)
                        ReferenceGeometry<T>.splitRows(b, pool: geometry.pool) { rows in
                            for i in rows {
                                let row = pd.baseAddress! + i * n, out = wOut.pointer + i * n
                                let yi = y[i]
                                out.update(repeating: 0, count: i + 1)
                                var rowPositive: T = 0, rowNegative: T = 0
                                for j in (i + 1)..<max(n, i + 1) {
                                    let d = row[j]
                                    var weight: T = 0
                                    if yi == y[j] {
                                        rowPositive += d * d
                                        weight = positiveWeight
                                    } else if d < m {
                                        let h = m - d
                                        rowNegative += h * h
                                        weight = -2 * h * negativeWeight * DistanceGradient.squaredPerDistance(d)
                                    }
                                    out[j] = weight
                                }
                                sumOut.pointer[2 * i] = rowPositive
                                sumOut.pointer[2 * i + 1] = rowNegative
                            }
                        }
                    }
                }
            }
        }
        var positiveSum = 0.0, negativeSum = 0.0
        for i in 0..<b {
            positiveSum += Double(rowSums[2 * i])
            negativeSum += Double(rowSums[2 * i + 1])
        }
        let value = T(positiveSum / Double(positivePairCount) + negativeSum / Double(negativePairCount))
        return LossOutput(value: value, gradient: geometry.backward(squared: weights))
    }
}
