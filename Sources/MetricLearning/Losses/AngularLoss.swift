import DMLNumerics

/// The angular loss (Wang et al., ICCV 2017) in its N-pair form, plain and with hard negative
/// mining.
///
/// The pairs `(a, p)` are the `adjacent` pairs (as for N-pair). With `t = tan θ`,
/// `f_apn = 4t² (x_a + x_p)ᵀ x_n − 2(1 + t²) x_aᵀ x_p`:
///
/// - plain: `L = 1/|P| Σ_{(a,p)} log(1 + Σ_n exp(f_apn))`, `n` over every sample of another class;
/// - HNPM: the same with one `n` per class `c ≠ y_a`: the point `n_c` of class `c` (original or
///   synthetic) that maximizes `(x_a + x_p)·x_n` (ties: lowest index). The synthetic fraction is
///   the share of these hardest points that are synthetic.
///
/// **Memory.** With memory points, `n` also runs over the memory points of other classes
/// (plain), and the hardest point `n_c` of a class is chosen among its batch, synthetic and
/// memory points (HNPM; memory-only classes included; ties: lowest column, batch first).
///
/// Similarities are dot products of the embeddings as given. The gradient is exact, through
/// `∂L/∂G` and one GEMM, then `AugmentedBatch.backward` in HNPM mode.
public struct AngularLoss: HardNegativeMiningLoss, Codable, Equatable {
    /// `θ` in degrees, strictly between 0 and 90.
    public var degrees: Double

    /// The angular loss with `θ = 45°` by default.
    public init(degrees: Double = 45) {
        self.degrees = degrees
    }

    /// The plain angular loss and its gradient.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?,
                                     pool: ThreadPool?) throws -> LossOutput<T> {
        let pairs = try anchorPositivePairs(embeddings, labels: labels)
        try memory?.requireDimension(embeddings.columns)
        let geometry = ReferenceGeometry(embeddings, memory: memory?.embeddings, distances: false, squared: false, pool: pool)
        let columnLabels = MemoryPairs(labels: labels, memory: memory).columnLabels
        // The negatives of a pair: every column of another class, ascending.
        let (value, w) = columnLabels.withUnsafeBufferPointer { y in
            terms(gram: geometry.gram, pairs: pairs, pool: pool) { k, out in
                let label = pairs[k].label
                var count = 0
                for q in 0..<y.count where y[q] != label {
                    out[count] = Int32(truncatingIfNeeded: q)
                    count += 1
                }
                return count
            }
        }
        return LossOutput(value: value, gradient: geometry.backward(gram: w))
    }

    /// The HNPM angular loss over the points of `synthesis` and its gradient.
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
        let gram = augmented.geometry.gram
        let (negatives, syntheticShare) = Self.hardestPoints(gram: gram, batch: augmented.batch, pairs: pairs,
                                                             columnLabels: augmented.columnLabels, sampling: sampling)
        let (value, w) = negatives.values.withUnsafeBufferPointer { points in
            terms(gram: gram, pairs: pairs, pool: pool) { k, out in
                let start = negatives.offsets[k], count = negatives.offsets[k + 1] - start
                for e in 0..<count { out[e] = Int32(truncatingIfNeeded: points[start + e]) }
                return count
            }
        }
        return augmented.output(value: value, gramGradient: w, syntheticFraction: syntheticShare)
    }

    /// For every pair `(a, p)` and class `c ≠ y_a`, `n_c = argmax_{n ∈ class c} G_an + G_pn`
    /// (lowest index on ties), by one segmented reduction of rows `a` and `p` of `G`; and the share
    /// of synthetic points among them.
    /// `gram` is `A × R` with the label of every column in `columnLabels` (columns past the
    /// augmented set are memory points, never synthetic).
    /// With `sampling`, pair `k` keeps only its drawn classes (`NegativeClassSampling`, one
    /// draw per pair in pair order).
    static func hardestPoints<T: BLASScalar>(
        gram: Matrix<T>, batch: AugmentedBatch<T>, pairs: [PositivePair], columnLabels: [Int],
        sampling: NegativeClassSampling? = nil
    ) -> (IndexLists, Double) {
        let n = gram.columns
        let columns = ClassColumns(labels: columnLabels)
        let classCount = columns.count
        var keep = [Bool]()
        if let sampling {
            let owns = pairs.map { columns.column[$0.first] }
            let kept = sampling.keptColumns(ownColumns: owns, classCount: classCount)
            keep = [Bool](repeating: false, count: pairs.count * classCount)
            for k in 0..<pairs.count {
                for c in kept.columns[kept.offsets[k]..<kept.offsets[k + 1]] { keep[k * classCount + c] = true }
            }
        }
        var lists = IndexLists(reservingLists: pairs.count, values: pairs.count * classCount)
        var best = [T](repeating: 0, count: classCount)
        var arg = [Int](repeating: -1, count: classCount)
        var synthetic = 0
        gram.withUnsafeBufferPointer { pg in
            columns.column.withUnsafeBufferPointer { col in
                best.withUnsafeMutableBufferPointer { pb in
                    arg.withUnsafeMutableBufferPointer { pa in
                        for (k, pair) in pairs.enumerated() {
                            let own = col[pair.first]
                            let ra = pg.baseAddress! + pair.first * n, rp = pg.baseAddress! + pair.second * n
                            for c in 0..<classCount {
                                pb[c] = -.infinity
                                pa[c] = -1
                            }
                            for q in 0..<n {
                                let c = col[q]
                                let v = ra[q] + rp[q]
                                if c != own && v > pb[c] {
                                    pb[c] = v
                                    pa[c] = q
                                }
                            }
                            for c in 0..<classCount where c != own && (keep.isEmpty || keep[k * classCount + c]) {
                                lists.append(pa[c])
                                if pa[c] < batch.points.rows && batch.isSynthetic[pa[c]] { synthetic += 1 }
                            }
                            lists.closeList()
                        }
                    }
                }
            }
        }
        let chosen = lists.values.count
        return (lists, chosen == 0 ? 0 : Double(synthetic) / Double(chosen))
    }

    /// The adjacent pairs of a valid batch with valid options.
    private func anchorPositivePairs<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> [PositivePair] {
        guard degrees > 0 && degrees < 90 else {
            throw MetricLearningError.invalidOption(name: "angular.degrees", value: "\(degrees)",
                                                    expected: "an angle strictly between 0 and 90 degrees")
        }
        return try AnchorPositivePairs.adjacent(embeddings, labels: labels)
    }

    /// `1/|P| Σ_r log(1 + Σ_{n ∈ negatives_r} exp(4t²(G_an + G_pn) − 2(1+t²) G_ap))` and its
    /// gradient with respect to `G`; `negatives(r, out)` writes the columns of pair `r`'s
    /// negatives to `out` (at most `G.columns`) and returns their number.
    ///
    /// Pairs write only their own two rows of `∂L/∂G` (adjacent pairs share no sample), so the
    /// pairs run on `pool` (after a pooled zero fill of the rows); the value adds the pairs' terms
    /// in pair order (the same at every thread count).
    private func terms<T: BLASScalar>(gram: Matrix<T>, pairs: [PositivePair], pool: ThreadPool?,
                                      negatives: (Int, UnsafeMutablePointer<Int32>) -> Int) -> (T, Matrix<T>) {
        let n = gram.columns, rows = gram.rows
        let tangent = Double.tan(degrees * .pi / 180)
        let negativeWeight = T(4 * tangent * tangent), positiveWeight = T(2 * (1 + tangent * tangent))
        let scale = 1 / T(pairs.count)
        var owner = [Bool](repeating: false, count: rows)
        for pair in pairs {
            precondition(!owner[pair.first] && !owner[pair.second], "angular pairs must not share a sample")
            owner[pair.first] = true
            owner[pair.second] = true
        }
        var w = ReferenceGeometry<T>.zeros(rows: rows, columns: n, pool: pool)
        var pairTerms = [T](repeating: 0, count: pairs.count)
        gram.withUnsafeBufferPointer { pg in
            w.withUnsafeMutableBufferPointer { pw in
                pairTerms.withUnsafeMutableBufferPointer { pt in
                    let wOut = SendablePointer(pw.baseAddress!), termOut = SendablePointer(pt.baseAddress!)
                    ReferenceGeometry<T>.splitRows(pairs.count, pool: pool) { range in
                        let v = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, n))
                        let points = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(1, n))
                        defer {
                            v.deallocate()
                            points.deallocate()
                        }
                        let pw = wOut.pointer
                        for r in range {
                            let pair = pairs[r]
                            let a = pair.first * n, p = pair.second * n
                            let count = negatives(r, points)
                            let base = -positiveWeight * pg[a + pair.second]
                            for k in 0..<count {
                                let q = Int(points[k])
                                v[k] = negativeWeight * (pg[a + q] + pg[p + q]) + base
                            }
                            termOut.pointer[r] = scale * VectorMath.logOnePlusSumExp(overwritingWithWeights: v, count: count)
                            var total: T = 0
                            for k in 0..<count {
                                let q = Int(points[k]), g = scale * negativeWeight * v[k]
                                pw[a + q] += g
                                pw[p + q] += g
                                total += v[k]
                            }
                            pw[a + pair.second] -= scale * positiveWeight * total
                        }
                    }
                }
            }
        }
        var value: T = 0
        for term in pairTerms { value += term }
        return (value, w)
    }
}
