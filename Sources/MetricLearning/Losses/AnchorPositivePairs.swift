import DMLNumerics

/// The (anchor, positive) pairs of the N-pair and angular losses.
enum AnchorPositivePairs {
    /// The `adjacent` pairs of a batch (samples `2t`, `2t+1` of each class in batch order; the
    /// earlier sample is the anchor), after checking that the batch has one finite embedding per
    /// label, a positive pair and two classes.
    static func adjacent<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> [PositivePair] {
        _ = try LabelStatistics.ofValidBatch(embeddings, labels: labels)
        return PositivePairs.make(labels: labels, rule: .adjacent)
    }
}
