/// A score below which a little more than `k` of one tile row's candidates fall, estimated
/// from a strided sample of the row, so that the first tile of a query block appends about
/// `k` candidates per query (with the running threshold alone, `TopKRow` appends about
/// `2k + k·ln(n/2k)` of `n` and runs several quickselects).
///
/// With `p = k / candidates` and `m` sampled scores, the estimate is the sample's `r`-th
/// smallest score, `r = ⌈m·p + 3·√(m·p·(1 − p))⌉ + 1`: three standard deviations above the
/// binomial count of sampled scores below the row's `k`-th smallest, so in a randomly ordered
/// row fewer than `k` candidates pass it about once in 700 rows. The estimate is only a filter:
/// `BlockedNeighbourSearch` checks that at least `k` candidates passed and otherwise merges the
/// row again without it, so exactness never depends on the sample.
enum SampledThreshold {
    /// Scores sampled per row.
    static var sampleSize: Int { 512 }

    /// The estimate for `row[j] + bias[j]`, `j` in `0..<columns`, of which `candidates` are
    /// rankable (the rest is the query itself); `nil` when a sample would not pay off (small `k`,
    /// or `k` a large share of the candidates). `sampleScores` and `sampleIndices` are scratch of
    /// `sampleSize` slots.
    @inline(__always)
    static func estimate<T: BinaryFloatingPoint>(row: UnsafePointer<T>, bias: UnsafePointer<T>, columns: Int,
                                                 candidates: Int, k: Int, sampleScores: UnsafeMutablePointer<T>,
                                                 sampleIndices: UnsafeMutablePointer<Int>) -> T? {
        guard k >= 32, candidates >= 4 * k else { return nil }
        let m = Swift.min(sampleSize, columns)
        let p = Double(k) / Double(candidates)
        let rank = Int((Double(m) * p + 3 * (Double(m) * p * (1 - p)).squareRoot()).rounded(.up)) + 1
        guard rank < m else { return nil }
        for i in 0..<m {
            let j = i * columns / m
            sampleScores[i] = row[j] + bias[j]
            sampleIndices[i] = j
        }
        var sample = TopKRow(scores: sampleScores, indices: sampleIndices, k: rank, state: .init(count: m))
        sample.compact()
        return sample.state.thresholdScore
    }
}
