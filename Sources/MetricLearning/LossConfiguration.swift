import DMLNumerics

/// The six losses of §3 of the spec.
public enum LossKind: String, CaseIterable, Codable, Sendable {
    /// `ContrastiveLoss`.
    case contrastive
    /// `TripletLoss`.
    case triplet
    /// `LiftedStructuredLoss`.
    case lifted
    /// `NPairLoss`.
    case npair
    /// `AngularLoss`.
    case angular
    /// `MultiSimilarityLoss`.
    case multisimilarity
}

/// Whether a loss runs in its plain form (§3) or with hard negative pair mining (§5).
public enum MiningMode: String, CaseIterable, Codable, Sendable {
    /// Every pair of the batch, as in §3 (`MetricLoss.loss`).
    case plain
    /// Hard negative pair mining over the originals and the synthetic points
    /// (`HardNegativeMiningLoss.hardNegativeLoss`).
    case hnpm
}

/// The embedding-space synthesis plugged into HNPM (§4).
public enum SynthesisKind: String, CaseIterable, Codable, Sendable {
    /// No synthetic point (`NoSynthesis`).
    case none
    /// Embedding Expansion (`EmbeddingExpansion`).
    case ee
    /// Symmetrical Synthesis (`SymmetricalSynthesis`).
    case symm
}

/// Every option of every loss and synthesis, with the spec's defaults, and the one entry point
/// training and `dml loss` call: `evaluate`.
///
/// `kind` picks the loss, `mining` its form, `synthesis` the plug-in (only with `mining = hnpm`).
/// `pairing` is the rule that forms the groups (and generates synthetic points) for every
/// synthesis; it overrides `expansion.pairing` and `symmetrical.pairing`.
public struct LossConfiguration: Codable, Equatable, Sendable {
    /// Which loss [triplet].
    public var kind: LossKind
    /// Plain or HNPM form [plain].
    public var mining: MiningMode
    /// The synthesis used with HNPM [none].
    public var synthesis: SynthesisKind
    /// Options of the contrastive loss (margin 1).
    public var contrastive: ContrastiveLoss
    /// Options of the triplet loss (margin 0.2, distance, all triplets, mean).
    public var triplet: TripletLoss
    /// Options of the lifted structured loss (α = 1).
    public var lifted: LiftedStructuredLoss
    /// Options of the N-pair loss (λ = 0.002).
    public var npair: NPairLoss
    /// Options of the angular loss (θ = 45°).
    public var angular: AngularLoss
    /// Options of the multi-similarity loss (α = 2, β = 50, λ = 0.5, ε = 0.1, miner on).
    public var multiSimilarity: MultiSimilarityLoss
    /// Options of Embedding Expansion (n = 2, normalized, gradients flowing).
    public var expansion: EmbeddingExpansion
    /// Options of Symmetrical Synthesis (α = 2, β = 1, gradients flowing).
    public var symmetrical: SymmetricalSynthesis
    /// Which positive pairs form groups and generate synthetic points [adjacent].
    public var pairing: PairingRule
    /// Pair subsampling (HNPM only): the number of negative classes each mining set keeps, drawn
    /// at random (`NegativeClassSampling`); 0 keeps every class [0].
    public var negativeClasses: Int
    /// The seed of the negative class draw; `scheduled(iteration:of:seed:)` sets it per
    /// iteration [0].
    public var samplingSeed: UInt64
    /// Whether same-class pairs of the cross-batch memory synthesize points too (EE / Symm
    /// with a memory; see `synthesizedMemory`) [false].
    public var memorySynthesis: Bool

    /// A configuration; every argument defaults to the spec's value.
    public init(
        kind: LossKind = .triplet, mining: MiningMode = .plain, synthesis: SynthesisKind = .none,
        contrastive: ContrastiveLoss = ContrastiveLoss(), triplet: TripletLoss = TripletLoss(),
        lifted: LiftedStructuredLoss = LiftedStructuredLoss(), npair: NPairLoss = NPairLoss(),
        angular: AngularLoss = AngularLoss(), multiSimilarity: MultiSimilarityLoss = MultiSimilarityLoss(),
        expansion: EmbeddingExpansion = EmbeddingExpansion(), symmetrical: SymmetricalSynthesis = SymmetricalSynthesis(),
        pairing: PairingRule = .adjacent, negativeClasses: Int = 0, samplingSeed: UInt64 = 0,
        memorySynthesis: Bool = false
    ) {
        self.kind = kind
        self.mining = mining
        self.synthesis = synthesis
        self.contrastive = contrastive
        self.triplet = triplet
        self.lifted = lifted
        self.npair = npair
        self.angular = angular
        self.multiSimilarity = multiSimilarity
        self.expansion = expansion
        self.symmetrical = symmetrical
        self.pairing = pairing
        self.negativeClasses = negativeClasses
        self.samplingSeed = samplingSeed
        self.memorySynthesis = memorySynthesis
    }

    private enum CodingKeys: String, CodingKey {
        case kind, mining, synthesis, contrastive, triplet, lifted, npair, angular, multiSimilarity, expansion,
             symmetrical, pairing, negativeClasses, samplingSeed, memorySynthesis
    }

    /// Decodes every field; `negativeClasses`, `samplingSeed` and `memorySynthesis` (added
    /// later, so older run files lack them) default to 0, 0 and false.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(LossKind.self, forKey: .kind)
        mining = try c.decode(MiningMode.self, forKey: .mining)
        synthesis = try c.decode(SynthesisKind.self, forKey: .synthesis)
        contrastive = try c.decode(ContrastiveLoss.self, forKey: .contrastive)
        triplet = try c.decode(TripletLoss.self, forKey: .triplet)
        lifted = try c.decode(LiftedStructuredLoss.self, forKey: .lifted)
        npair = try c.decode(NPairLoss.self, forKey: .npair)
        angular = try c.decode(AngularLoss.self, forKey: .angular)
        multiSimilarity = try c.decode(MultiSimilarityLoss.self, forKey: .multiSimilarity)
        expansion = try c.decode(EmbeddingExpansion.self, forKey: .expansion)
        symmetrical = try c.decode(SymmetricalSynthesis.self, forKey: .symmetrical)
        pairing = try c.decode(PairingRule.self, forKey: .pairing)
        negativeClasses = try c.decodeIfPresent(Int.self, forKey: .negativeClasses) ?? 0
        samplingSeed = try c.decodeIfPresent(UInt64.self, forKey: .samplingSeed) ?? 0
        memorySynthesis = try c.decodeIfPresent(Bool.self, forKey: .memorySynthesis) ?? false
    }

    /// The configuration for iteration `t` (0-based) of a run of `iterations`, seed `seed`:
    /// Symm's `α`, `β` at progress `p = t/(iterations − 1)` (0 for a single iteration; see
    /// `SymmetricalSynthesis.scheduled(progress:)`) and the negative class draw seeded by the
    /// first value of `SeededGenerator(seed: seed ⊕ samplingSeed ⊕ c, stream: t)` (c a fixed
    /// constant), so every iteration draws anew and a resumed run draws what the uninterrupted
    /// one did. Everything else is unchanged.
    public func scheduled(iteration t: Int, of iterations: Int, seed: UInt64) -> LossConfiguration {
        var out = self
        let progress = iterations > 1 ? Double(Swift.min(Swift.max(t, 0), iterations - 1)) / Double(iterations - 1) : 0
        out.symmetrical = symmetrical.scheduled(progress: progress)
        if negativeClasses > 0 {
            var generator = SeededGenerator(seed: seed ^ samplingSeed ^ 0x6E65_6761_7469_7665, stream: UInt64(Swift.max(t, 0)))
            out.samplingSeed = generator.next()
        }
        return out
    }

    /// The negative class sampling in force (`nil` when `negativeClasses` is 0).
    public var sampling: NegativeClassSampling? {
        negativeClasses > 0 ? NegativeClassSampling(classes: negativeClasses, seed: samplingSeed) : nil
    }

    /// The memory with the points its same-class pairs synthesize (`memorySynthesis`): the
    /// configured synthesis (EE or Symm, with its pairing, axis and options) applied to the
    /// memory rows in slot order as if they were a batch, its synthetic points appended after the
    /// memory rows with their classes. They are constants like the memory (no gradient) and
    /// count as memory points (never as synthetic in the synthetic fraction). `memory`
    /// unchanged without synthesis or with `memorySynthesis` off.
    public func synthesizedMemory<T: BLASScalar>(_ memory: MemoryPoints<T>) throws -> MemoryPoints<T> {
        guard memorySynthesis, mining == .hnpm, synthesis != .none, !memory.isEmpty else { return memory }
        let augmented: AugmentedBatch<T>
        switch synthesis {
        case .none: return memory
        case .ee: augmented = try (synthesisPlugin as! EmbeddingExpansion).augment(memory.embeddings, labels: memory.labels)
        case .symm: augmented = try (synthesisPlugin as! SymmetricalSynthesis).augment(memory.embeddings, labels: memory.labels)
        }
        return MemoryPoints(unchecked: augmented.points, labels: augmented.labels)
    }

    /// The selected loss with its options.
    public var loss: any HardNegativeMiningLoss {
        switch kind {
        case .contrastive: contrastive
        case .triplet: triplet
        case .lifted: lifted
        case .npair: npair
        case .angular: angular
        case .multisimilarity: multiSimilarity
        }
    }

    /// The selected synthesis with `pairing` applied (`NoSynthesis` for `none`).
    public var synthesisPlugin: any EmbeddingSynthesis {
        switch synthesis {
        case .none:
            return NoSynthesis(pairing: pairing)
        case .ee:
            var plugin = expansion
            plugin.pairing = pairing
            return plugin
        case .symm:
            var plugin = symmetrical
            plugin.pairing = pairing
            return plugin
        }
    }

    /// Throws `invalidOption` for a synthesis, a negative class sampling or a memory synthesis
    /// without hard negative pair mining, or a negative `negativeClasses`.
    public func validate() throws {
        if negativeClasses < 0 {
            throw MetricLearningError.invalidOption(name: "negativeClasses", value: "\(negativeClasses)",
                                                    expected: "0 (every negative class) or a positive number of classes per mining set")
        }
        if mining == .plain && negativeClasses > 0 {
            throw MetricLearningError.invalidOption(
                name: "negativeClasses", value: "\(negativeClasses)",
                expected: "0 when mining is plain (classes are sampled per mining set: set mining to hnpm)")
        }
        if memorySynthesis && (mining == .plain || synthesis == .none) {
            throw MetricLearningError.invalidOption(
                name: "memorySynthesis", value: "true",
                expected: "false unless mining is hnpm with synthesis ee or symm")
        }
        if mining == .plain && synthesis != .none {
            throw MetricLearningError.invalidOption(
                name: "synthesis", value: synthesis.rawValue,
                expected: "none when mining is plain (synthetic points are used through hard negative pair mining: set mining to hnpm)")
        }
    }

    /// `L(X)`, `∂L/∂X` and the synthetic fraction of the configured loss on a labelled batch:
    /// `loss.loss(X, labels)` when plain, `loss.hardNegativeLoss(X, labels, synthesisPlugin)`
    /// with HNPM.
    ///
    /// ```swift
    /// var rng = SeededGenerator(seed: 1)
    /// let x: Matrix<Float> = rng.normalMatrix(rows: 8, columns: 4)   // a 4 × 2 batch: C = 4, K = 2
    /// let labels = [0, 0, 1, 1, 2, 2, 3, 3]
    /// let loss = LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .ee)
    /// let output = try loss.evaluate(x, labels: labels)
    /// // output.value: L; output.gradient: ∂L/∂X (8 × 4); output.syntheticFraction: the share
    /// // of mined hardest pairs that involve a synthetic point.
    /// ```
    ///
    /// - Throws: `MetricLearningError` for an invalid configuration (see `validate`) or batch.
    public func evaluate<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> LossOutput<T> {
        try evaluate(embeddings, labels: labels, memory: nil)
    }

    /// `L(X)`, `∂L/∂X` and the synthetic fraction with the points of a cross-batch memory as
    /// extra reference points (`loss.loss(X, labels, memory)` or
    /// `loss.hardNegativeLoss(X, labels, synthesisPlugin, memory)`; see `MetricLoss` and
    /// `HardNegativeMiningLoss` for the rules). `nil` or an empty memory: exactly `evaluate(_:labels:)`.
    ///
    /// - Throws: `MetricLearningError` for an invalid configuration or batch, or a memory of
    ///   another dimension.
    public func evaluate<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?) throws -> LossOutput<T> {
        try evaluate(embeddings, labels: labels, memory: memory, pool: nil)
    }

    /// `evaluate(_:labels:memory:)` with the work over the memory on `pool`: the batch × memory
    /// GEMMs, the `D`/`D²` pass, the first step of the mining and the backward split the rows
    /// over the pool's workers, BLAS single-threaded inside them (`ReferenceGeometry`). Each
    /// output row is computed by one worker in a fixed order, so a given thread count gives the
    /// same numbers run after run; `nil` or a one-thread pool runs on the calling thread.
    ///
    /// - Throws: as `evaluate(_:labels:memory:)`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func evaluate<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?,
                                        pool: ThreadPool?) throws -> LossOutput<T> {
        try validate()
        var memory = memory?.isEmpty == false ? memory : nil
        if let given = memory { memory = try synthesizedMemory(given) }
        switch kind {
        case .contrastive: return try evaluate(contrastive, embeddings, labels, memory, pool)
        case .triplet: return try evaluate(triplet, embeddings, labels, memory, pool)
        case .lifted: return try evaluate(lifted, embeddings, labels, memory, pool)
        case .npair: return try evaluate(npair, embeddings, labels, memory, pool)
        case .angular: return try evaluate(angular, embeddings, labels, memory, pool)
        case .multisimilarity: return try evaluate(multiSimilarity, embeddings, labels, memory, pool)
        }
    }

    /// Runs one loss type in the configured mode (statically dispatched).
    private func evaluate<L: HardNegativeMiningLoss, T: BLASScalar>(
        _ loss: L, _ embeddings: Matrix<T>, _ labels: [Int], _ memory: MemoryPoints<T>?, _ pool: ThreadPool?
    ) throws -> LossOutput<T> {
        switch mining {
        case .plain: try loss.loss(embeddings, labels: labels, memory: memory, pool: pool)
        case .hnpm: try loss.hardNegativeLoss(embeddings, labels: labels, synthesis: synthesisPlugin, memory: memory,
                                              sampling: sampling, pool: pool)
        }
    }
}
