import ArgumentParser
import MetricLearning

/// The loss, mining and synthesis options shared by `dml loss` and `dml train`. Each option
/// left out keeps the value it already has (the spec's default, or a configuration file's).
public struct LossOptions: ParsableArguments {
    /// Every option unset.
    public init() {}

    @Option(help: "The loss: \(LossKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var loss: LossKind?

    @Option(help: "plain (every pair, §3) or hnpm (hard negative pair mining, §5).")
    var mining: MiningMode?

    @Option(help: "Synthetic points for hnpm: none, ee (Embedding Expansion) or symm (Symmetrical Synthesis).")
    var synthesis: SynthesisKind?

    @Option(help: "Margin of contrastive (m, default 1), triplet (m, default 0.2) or lifted (α, default 1).")
    var margin: Double?

    @Flag(help: "Triplet: use squared distances.")
    var squared = false

    @Option(help: "Triplet selection: all, semihard or hardest (batch-hard).")
    var triplets: TripletSelection?

    @Option(help: "Triplet reduction: mean (over selected triplets) or nonzero (over non-zero ones).")
    var reduction: TripletReduction?

    @Option(name: .customLong("n-points"), help: "Embedding Expansion: synthetic points per pair (default 2).")
    var expansionPoints: Int?

    @Option(help: "Pairs that form groups and synthesize points (hnpm): adjacent or all (default adjacent).")
    var pairs: PairingRule?

    @Option(name: .customLong("symm-alpha"), help: "Symmetrical Synthesis α (default 2).")
    var symmetricalAlpha: Double?

    @Option(name: .customLong("symm-beta"), help: "Symmetrical Synthesis β (default 1).")
    var symmetricalBeta: Double?

    @Option(name: .customLong("ee-adaptive-spacing"),
            help: "Embedding Expansion: adaptive n per pair, n = min(--n-points, max(1, ceil(D/δ))) for spacing δ > 0 (default 0: fixed n).")
    var expansionSpacing: Double?

    @Option(name: .customLong("synthesis-axis"),
            help: "EE / Symm around the pair partner (pair, default) or the class mean of the batch (class-mean).")
    var synthesisAxis: SynthesisAxis?

    @Option(name: .customLong("symm-schedule"),
            help: "Symm α, β constant (default) or linear from --symm-alpha/--symm-beta to --symm-final-alpha/--symm-final-beta over training.")
    var symmetricalSchedule: SymmetricalSchedule?

    @Option(name: .customLong("symm-final-alpha"), help: "Symm α at the end of training with --symm-schedule linear (default 2).")
    var symmetricalFinalAlpha: Double?

    @Option(name: .customLong("symm-final-beta"), help: "Symm β at the end of training with --symm-schedule linear (default 1).")
    var symmetricalFinalBeta: Double?

    @Option(name: .customLong("negative-classes"),
            help: "HNPM pair subsampling: negative classes kept per mining set, drawn at random (default 0: all).")
    var negativeClasses: Int?

    @Option(name: .customLong("sampling-seed"), help: "Seed of the negative class draw (default 0; training mixes in the run seed and iteration).")
    var samplingSeed: UInt64?

    @Flag(name: .customLong("memory-synthesis"), help: "EE / Symm also synthesize points from same-class pairs of the memory.")
    var memorySynthesis = false

    @Option(name: .customLong("npair-lambda"), help: "N-pair L2 penalty λ (default 0.002).")
    var npairLambda: Double?

    @Option(help: "Angular loss angle θ in degrees (default 45).")
    var angle: Double?

    @Option(name: .customLong("ms-alpha"), help: "Multi-similarity α (default 2).")
    var multiSimilarityAlpha: Double?

    @Option(name: .customLong("ms-beta"), help: "Multi-similarity β (default 50).")
    var multiSimilarityBeta: Double?

    @Option(name: .customLong("ms-base"), help: "Multi-similarity similarity offset λ (default 0.5).")
    var multiSimilarityBase: Double?

    @Option(name: .customLong("ms-epsilon"), help: "Multi-similarity miner margin ε (default 0.1).")
    var multiSimilarityEpsilon: Double?

    @Flag(name: .customLong("no-ms-miner"), help: "Multi-similarity: turn the pair miner off (plain mode).")
    var noMultiSimilarityMiner = false

    @Flag(name: .customLong("detach-synthetic"), help: "Synthetic points pass no gradient back to the originals.")
    var detachSynthetic = false

    /// Lays the given options over `c`, then rejects options that do not apply to the
    /// resulting loss, mining or synthesis.
    func apply(to c: inout LossConfiguration) throws {
        if let loss { c.kind = loss }
        if let mining { c.mining = mining }
        if let synthesis { c.synthesis = synthesis }
        if let pairs { c.pairing = pairs }
        if let margin {
            c.contrastive.margin = margin
            c.triplet.margin = margin
            c.lifted.margin = margin
        }
        if squared { c.triplet.squared = true }
        if let triplets { c.triplet.selection = triplets }
        if let reduction { c.triplet.reduction = reduction }
        if let expansionPoints { c.expansion.points = expansionPoints }
        if let symmetricalAlpha { c.symmetrical.alpha = symmetricalAlpha }
        if let symmetricalBeta { c.symmetrical.beta = symmetricalBeta }
        if let expansionSpacing { c.expansion.adaptiveSpacing = expansionSpacing }
        if let synthesisAxis {
            c.expansion.axis = synthesisAxis
            c.symmetrical.axis = synthesisAxis
        }
        if let symmetricalSchedule { c.symmetrical.schedule = symmetricalSchedule }
        if let symmetricalFinalAlpha { c.symmetrical.finalAlpha = symmetricalFinalAlpha }
        if let symmetricalFinalBeta { c.symmetrical.finalBeta = symmetricalFinalBeta }
        if let negativeClasses { c.negativeClasses = negativeClasses }
        if let samplingSeed { c.samplingSeed = samplingSeed }
        if memorySynthesis { c.memorySynthesis = true }
        if detachSynthetic {
            c.expansion.detach = true
            c.symmetrical.detach = true
        }
        if let npairLambda { c.npair.l2Penalty = npairLambda }
        if let angle { c.angular.degrees = angle }
        if let multiSimilarityAlpha { c.multiSimilarity.alpha = multiSimilarityAlpha }
        if let multiSimilarityBeta { c.multiSimilarity.beta = multiSimilarityBeta }
        if let multiSimilarityBase { c.multiSimilarity.lambda = multiSimilarityBase }
        if let multiSimilarityEpsilon { c.multiSimilarity.epsilon = multiSimilarityEpsilon }
        if noMultiSimilarityMiner { c.multiSimilarity.mining = false }
        try check(against: c)
    }

    /// Options that were given but do not apply to `c` are errors, so nothing is silently ignored.
    private func check(against c: LossConfiguration) throws {
        func require(_ given: Bool, _ option: String, _ condition: Bool, _ context: String) throws {
            if given && !condition { throw ValidationError("\(option) applies only \(context)") }
        }
        let margined: Set<LossKind> = [.contrastive, .triplet, .lifted]
        try require(margin != nil, "--margin", margined.contains(c.kind), "to --loss contrastive, triplet or lifted")
        for (given, option) in [(squared, "--squared"), (triplets != nil, "--triplets"), (reduction != nil, "--reduction")] {
            try require(given, option, c.kind == .triplet, "to --loss triplet")
        }
        try require(npairLambda != nil, "--npair-lambda", c.kind == .npair, "to --loss npair")
        try require(angle != nil, "--angle", c.kind == .angular, "to --loss angular")
        for (given, option) in [(multiSimilarityAlpha != nil, "--ms-alpha"), (multiSimilarityBeta != nil, "--ms-beta"),
                                (multiSimilarityBase != nil, "--ms-base"), (multiSimilarityEpsilon != nil, "--ms-epsilon"),
                                (noMultiSimilarityMiner, "--no-ms-miner")] {
            try require(given, option, c.kind == .multisimilarity, "to --loss multisimilarity")
        }
        try require(pairs != nil, "--pairs", c.mining == .hnpm, "with --mining hnpm")
        try require(expansionPoints != nil, "--n-points", c.synthesis == .ee, "with --synthesis ee")
        for (given, option) in [(symmetricalAlpha != nil, "--symm-alpha"), (symmetricalBeta != nil, "--symm-beta")] {
            try require(given, option, c.synthesis == .symm, "with --synthesis symm")
        }
        try require(detachSynthetic, "--detach-synthetic", c.synthesis != .none, "with --synthesis ee or symm")
        try require(expansionSpacing != nil, "--ee-adaptive-spacing", c.synthesis == .ee, "with --synthesis ee")
        try require(synthesisAxis != nil, "--synthesis-axis", c.synthesis != .none, "with --synthesis ee or symm")
        for (given, option) in [(symmetricalSchedule != nil, "--symm-schedule"), (symmetricalFinalAlpha != nil, "--symm-final-alpha"),
                                (symmetricalFinalBeta != nil, "--symm-final-beta")] {
            try require(given, option, c.synthesis == .symm, "with --synthesis symm")
        }
        try require(negativeClasses != nil, "--negative-classes", c.mining == .hnpm, "with --mining hnpm")
        try require(samplingSeed != nil, "--sampling-seed", c.negativeClasses > 0, "with --negative-classes")
        try require(memorySynthesis, "--memory-synthesis", c.synthesis != .none, "with --synthesis ee or symm")
        if c.synthesis != .none && c.mining == .plain {
            throw ValidationError("--synthesis \(c.synthesis.rawValue) needs --mining hnpm (synthetic points are used through hard negative pair mining)")
        }
    }
}
