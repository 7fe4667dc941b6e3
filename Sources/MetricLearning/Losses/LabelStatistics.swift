import DMLNumerics

/// Pair counts of a labelled batch, and the checks the pair-based losses make before they run.
struct LabelStatistics {
    /// The number of unordered positive pairs `|P| = Σ_c n_c (n_c − 1) / 2`.
    let positivePairCount: Int
    /// The number of unordered negative pairs `B (B − 1) / 2 − |P|`.
    let negativePairCount: Int
    /// `n_{y_i}`, the size of sample i's class, for every sample.
    let classSize: [Int]

    /// Counts the pairs of `labels` in O(B).
    init(_ labels: [Int]) {
        var sizes = [Int: Int]()
        for y in labels { sizes[y, default: 0] += 1 }
        let positives = sizes.values.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
        positivePairCount = positives
        negativePairCount = labels.count * (labels.count - 1) / 2 - positives
        classSize = labels.map { sizes[$0]! }
    }

    /// The statistics of a batch every pair-based loss can score: one finite embedding per
    /// label, a positive pair and two classes (else `MetricLearningError`).
    static func ofValidBatch<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> LabelStatistics {
        try MetricLearningError.validate(embeddings, labels: labels)
        let statistics = LabelStatistics(labels)
        try statistics.requirePositiveAndNegativePairs()
        return statistics
    }

    /// Throws `noPositivePair` when no two samples share a label, `noNegativePair` when the
    /// batch has a single class.
    func requirePositiveAndNegativePairs() throws {
        guard positivePairCount > 0 else { throw MetricLearningError.noPositivePair }
        guard negativePairCount > 0 else { throw MetricLearningError.noNegativePair }
    }
}

extension MetricLearningError {
    /// Throws `invalidOption` unless `value` is finite and at least `minimum`.
    static func requireFinite(_ value: Double, atLeast minimum: Double, name: String) throws {
        guard value.isFinite, value >= minimum else {
            throw MetricLearningError.invalidOption(name: name, value: "\(value)", expected: "a finite number ≥ \(minimum)")
        }
    }
}
