import DMLNumerics

/// The shared first and last steps of the distance-based HNPM losses (contrastive, triplet,
/// lifted structured): augment, measure, mine; then carry `∂L/∂D` back to the originals.
///
/// **Pairs and their mining sets (the K > 2 rule).** The positive terms are those of the plain
/// form: every unordered positive pair `(i, j)`, `i < j`, of the originals (`PairingRule.all`),
/// whatever pairing the synthesis uses. The negative terms of a pair are mined over its set
/// `s_ij = {i, j} ∪` every group (generating pair plus its synthetic points) containing `i` or
/// `j` (`MiningSets.pairs`). With one positive pair per class (C×2) `s_ij` is exactly the group
/// `g_ij` of §5; with K > 2 it is the union of the groups of both members — an anchor in several
/// groups uses the union of its groups. `hardest` holds `d⁻(s_ij, c)` for every pair (row, in
/// the order of `pairs`) and every class `c` (column).
///
/// **Memory.** With memory points, the geometry is `A × (A + N)` (`ReferenceGeometry`) and
/// "class c" in `d⁻(s_ij, c)` also holds the memory points of class c (classes present only in
/// the memory are negative classes too); the positive terms stay the batch pairs. Weight
/// matrices are `A × (A + N)` (`makeWeights`), indexed `row · columns + column`.
struct MinedPairBatch<T: BLASScalar> {
    /// The originals and the synthetic points.
    let batch: AugmentedBatch<T>
    /// `G`, `D²`, `D` of `batch.points` against themselves and the memory.
    let geometry: ReferenceGeometry<T>
    /// Every unordered positive pair of the originals, ascending.
    let pairs: [PositivePair]
    /// `d⁻(s_ij, c)`, one row per pair of `pairs`, with the arg-min pairs.
    let hardest: HardNegativePairs<T>

    /// Validates the batch (one finite embedding per label, a positive pair, two classes),
    /// augments it with `synthesis`, and mines the hardest negative pair of every pair and class
    /// (of the kept classes, with `sampling`). `squared`: also form `D²` against the memory (only
    /// the squared triplet loss reads it). `pool`: where the geometry and the mining run
    /// (`ReferenceGeometry`).
    init(_ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis, memory: MemoryPoints<T>? = nil,
         sampling: NegativeClassSampling? = nil, squared: Bool = false, pool: ThreadPool? = nil) throws {
        _ = try LabelStatistics.ofValidBatch(embeddings, labels: labels)
        try memory?.requireDimension(embeddings.columns)
        batch = try Self.augment(embeddings, labels: labels, with: synthesis)
        geometry = ReferenceGeometry(batch.points, memory: memory?.embeddings, squared: squared, pool: pool)
        pairs = PositivePairs.make(labels: labels, rule: .all)
        hardest = HardNegativePairMiner.hardestByDistance(geometry, batch: batch, memoryLabels: memory?.labels ?? [],
                                                          sets: .pairs(pairs, in: batch), sampling: sampling)
    }

    /// `synthesis.augment` called on the concrete plug-in type, so that the `Float`/`Double`
    /// specialization runs: a call through the existential's witness table runs the generic body.
    private static func augment(_ embeddings: Matrix<T>, labels: [Int], with synthesis: any EmbeddingSynthesis) throws -> AugmentedBatch<T> {
        switch synthesis {
        case let plugin as EmbeddingExpansion: try plugin.augment(embeddings, labels: labels)
        case let plugin as SymmetricalSynthesis: try plugin.augment(embeddings, labels: labels)
        case let plugin as NoSynthesis: try plugin.augment(embeddings, labels: labels)
        default: try synthesis.augment(embeddings, labels: labels)
        }
    }

    /// The number of columns of the geometry (augmented points, then memory points): the row
    /// stride of every matrix the losses index.
    var size: Int { geometry.columns }

    /// A zero `A × (A + N)` weight matrix.
    func makeWeights() -> Matrix<T> { Matrix(rows: batch.points.rows, columns: geometry.columns) }

    /// The loss `value` with `∂L/∂X` from `∂L/∂D²` (`squared`) over the augmented set, carried
    /// through the synthesis, and the share of mined pairs that involve a synthetic point (`nil`
    /// without synthetic points).
    func output(value: T, squared: Matrix<T>) -> LossOutput<T> {
        let pointGradient = geometry.backward(squared: squared)
        return LossOutput(value: value, gradient: batch.backward(pointGradient),
                          syntheticFraction: batch.syntheticCount > 0 ? hardest.syntheticFraction : nil)
    }
}
