import DMLNumerics

/// The identity plug-in: no synthetic point, one group per positive pair of `pairing` (hard
/// negative pair mining on the originals alone).
public struct NoSynthesis: EmbeddingSynthesis, Codable, Equatable {
    /// Which positive pairs form the groups.
    public var pairing: PairingRule

    /// No synthesis; groups are the `pairing` pairs (`adjacent` by default).
    public init(pairing: PairingRule = .adjacent) {
        self.pairing = pairing
    }

    /// The batch unchanged, with one group `{first, second}` per positive pair.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func augment<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> AugmentedBatch<T> {
        try MetricLearningError.validate(embeddings, labels: labels)
        let pairs = PositivePairs.make(labels: labels, rule: pairing)
        return AugmentedBatch(points: embeddings, originalCount: embeddings.rows, labels: labels, pairs: pairs,
                              pointsPerPair: 0, origin: .none, detach: false)
    }
}
