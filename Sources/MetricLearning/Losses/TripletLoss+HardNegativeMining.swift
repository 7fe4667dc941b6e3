import DMLNumerics

/// The hard-negative-pair-mining form of the triplet loss (§5):
///
/// `ℓ(i, j, c) = [M_ij − d⁻_M(s_ij, c) + m]_+` for every unordered positive pair `(i, j)` of the
/// originals and every class `c ≠ y_i`, with `M = D` or `D²` and `d⁻_M` the hardest negative pair
/// of the pair's mining set `s_ij` (see `MinedPairBatch`) in the same metric. The term is
/// symmetric in i and j, so unordered pairs give the same mean as ordered anchors.
/// `selection`: `all` keeps every `(pair, class)` term, `semihard` those with
/// `M_ij < d⁻_M < M_ij + m`, `hardest` (HPHN) one term per pair, the class with the smallest
/// `d⁻` (lowest class on ties). `reduction` as in the plain form.
extension TripletLoss: HardNegativeMiningLoss {
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
        let mined = try MinedPairBatch(embeddings, labels: labels, synthesis: synthesis, memory: memory, sampling: sampling, squared: squared,
                                       pool: pool)
        let n = mined.size, classCount = mined.hardest.classes.count
        let hardest = mined.hardest
        let m = T(margin)
        var tally = TripletTally<T>(rows: mined.batch.points.rows, columns: n)
        (squared ? mined.geometry.squared : mined.geometry.distances).withUnsafeBufferPointer { pm in
            hardest.value.withUnsafeBufferPointer { hv in
                for (s, pair) in mined.pairs.enumerated() {
                    let positive = pm[pair.first * n + pair.second]
                    let row = s * classCount
                    let negatives = (0..<classCount).lazy.filter { hardest.isNegative(row: s, column: $0) }
                    func negative(_ c: Int) -> T { squared ? hv[row + c] * hv[row + c] : hv[row + c] }
                    switch selection {
                    case .all:
                        for c in negatives {
                            tally.add(row + c, of: hardest, positive: pair, loss: positive - negative(c) + m)
                        }
                    case .semihard:
                        for c in negatives where positive < negative(c) && negative(c) < positive + m {
                            tally.add(row + c, of: hardest, positive: pair, loss: positive - negative(c) + m)
                        }
                    case .hardest:
                        // min(by:) keeps the first minimum: the lowest class on ties.
                        guard let c = negatives.min(by: { hv[row + $0] < hv[row + $1] }) else { continue }
                        tally.add(row + c, of: hardest, positive: pair, loss: positive - negative(c) + m)
                    }
                }
            }
        }
        let (value, weights) = tally.reduced(by: reduction, distances: squared ? nil : mined.geometry.distances)
        return mined.output(value: value, squared: weights)
    }
}

extension TripletTally {
    /// Records the term of a positive pair against the mined pair `k` (row-major pair × class).
    @inline(__always)
    fileprivate mutating func add(_ k: Int, of hardest: HardNegativePairs<T>, positive pair: PositivePair, loss: T) {
        add(positiveEntry: (pair.first, pair.second),
            negativeEntry: (hardest.groupPoint[k], hardest.classPoint[k]), loss: loss)
    }
}
