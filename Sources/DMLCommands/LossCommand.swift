import ArgumentParser
import Foundation
import SwiftMetricLearning

/// `dml loss`: one loss value and its gradient on embeddings saved as `.npy`.
///
/// Reads `X` (B × d, float32 or float64) and `y` (B integer labels), evaluates the configured
/// loss in the precision of `X` (Float for float32, Double for float64), prints one JSON object
/// (`loss`, `synthetic_fraction` — null when nothing was synthesized — and the configuration)
/// and, with `--grad-out`, writes `∂L/∂X` with the shape and dtype of `X`. Bad input is reported
/// on stderr with a non-zero exit status, and nothing is written.
public struct LossCommand: ParsableCommand {
    /// The command's name, abstract and help text.
    public static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract: "Evaluate a metric-learning loss and its gradient on saved embeddings.",
        discussion: """
        Prints one JSON object with "loss" and "synthetic_fraction" (null when nothing was \
        synthesized). Margin defaults: contrastive 1, triplet 0.2, lifted 1. Synthesis (ee, symm) \
        needs --mining hnpm.
        """
    )

    @Option(help: "Embeddings X, a B×d .npy array of float32 or float64.")
    var embeddings: String

    @Option(help: "Labels y, a .npy array of B integers.")
    var labels: String

    @Option(help: "The loss: \(LossKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var loss: LossKind

    @Option(help: "plain (every pair, §3) or hnpm (hard negative pair mining, §5).")
    var mining: MiningMode = .plain

    @Option(help: "Synthetic points for hnpm: none, ee (Embedding Expansion) or symm (Symmetrical Synthesis).")
    var synthesis: SynthesisKind = .none

    @Option(name: .customLong("grad-out"), help: "Write ∂L/∂X here (.npy, same shape and dtype as X).")
    var gradientPath: String?

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

    /// A command with every option at its default (ArgumentParser fills the options in).
    public init() {}

    /// The result of one evaluation, as printed.
    public struct Report: Encodable, Equatable {
        /// `L(X)`.
        public var loss: Double
        /// The share of mined pairs that involve a synthetic point; `nil` (JSON null) without synthesis.
        public var syntheticFraction: Double?
        /// The configured loss, mining and synthesis.
        public var kind: LossKind, mining: MiningMode, synthesis: SynthesisKind
        /// B and d of X, and its dtype ("float32" or "float64").
        public var rows: Int, dimension: Int, dtype: String

        enum CodingKeys: String, CodingKey {
            case loss, kind, mining, synthesis, rows, dimension, dtype
            case syntheticFraction = "synthetic_fraction"
        }

        /// Encodes every field, `synthetic_fraction` as null when absent.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(loss, forKey: .loss)
            try c.encode(syntheticFraction, forKey: .syntheticFraction)
            try c.encode(kind, forKey: .kind)
            try c.encode(mining, forKey: .mining)
            try c.encode(synthesis, forKey: .synthesis)
            try c.encode(rows, forKey: .rows)
            try c.encode(dimension, forKey: .dimension)
            try c.encode(dtype, forKey: .dtype)
        }

        /// One line of key-sorted JSON.
        public var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            // Every field is a number, a string or null, so encoding cannot fail.
            return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }
    }

    /// A problem with the input files.
    struct InputError: Error, CustomStringConvertible {
        let description: String
    }

    /// Rejects options that do not apply to the chosen loss, mining or synthesis (ArgumentParser
    /// calls it after parsing, before `run`).
    public func validate() throws {
        func require(_ given: Bool, _ option: String, _ condition: Bool, _ context: String) throws {
            if given && !condition { throw ValidationError("\(option) applies only \(context)") }
        }
        let margined: Set<LossKind> = [.contrastive, .triplet, .lifted]
        try require(margin != nil, "--margin", margined.contains(loss), "to --loss contrastive, triplet or lifted")
        for (given, option) in [(squared, "--squared"), (triplets != nil, "--triplets"), (reduction != nil, "--reduction")] {
            try require(given, option, loss == .triplet, "to --loss triplet")
        }
        try require(npairLambda != nil, "--npair-lambda", loss == .npair, "to --loss npair")
        try require(angle != nil, "--angle", loss == .angular, "to --loss angular")
        for (given, option) in [(multiSimilarityAlpha != nil, "--ms-alpha"), (multiSimilarityBeta != nil, "--ms-beta"),
                                (multiSimilarityBase != nil, "--ms-base"), (multiSimilarityEpsilon != nil, "--ms-epsilon"),
                                (noMultiSimilarityMiner, "--no-ms-miner")] {
            try require(given, option, loss == .multisimilarity, "to --loss multisimilarity")
        }
        try require(pairs != nil, "--pairs", mining == .hnpm, "with --mining hnpm")
        try require(expansionPoints != nil, "--n-points", synthesis == .ee, "with --synthesis ee")
        for (given, option) in [(symmetricalAlpha != nil, "--symm-alpha"), (symmetricalBeta != nil, "--symm-beta")] {
            try require(given, option, synthesis == .symm, "with --synthesis symm")
        }
        try require(detachSynthetic, "--detach-synthetic", synthesis != .none, "with --synthesis ee or symm")
        if synthesis != .none && mining == .plain {
            throw ValidationError("--synthesis \(synthesis.rawValue) needs --mining hnpm (synthetic points are used through hard negative pair mining)")
        }
    }

    /// The loss configuration the options describe (defaults from the spec).
    public var lossConfiguration: LossConfiguration {
        var c = LossConfiguration(kind: loss, mining: mining, synthesis: synthesis, pairing: pairs ?? .adjacent)
        if let margin {
            c.contrastive.margin = margin
            c.triplet.margin = margin
            c.lifted.margin = margin
        }
        c.triplet.squared = squared
        c.triplet.selection = triplets ?? c.triplet.selection
        c.triplet.reduction = reduction ?? c.triplet.reduction
        c.expansion.points = expansionPoints ?? c.expansion.points
        c.symmetrical.alpha = symmetricalAlpha ?? c.symmetrical.alpha
        c.symmetrical.beta = symmetricalBeta ?? c.symmetrical.beta
        c.expansion.detach = detachSynthetic
        c.symmetrical.detach = detachSynthetic
        c.npair.l2Penalty = npairLambda ?? c.npair.l2Penalty
        c.angular.degrees = angle ?? c.angular.degrees
        c.multiSimilarity.alpha = multiSimilarityAlpha ?? c.multiSimilarity.alpha
        c.multiSimilarity.beta = multiSimilarityBeta ?? c.multiSimilarity.beta
        c.multiSimilarity.lambda = multiSimilarityBase ?? c.multiSimilarity.lambda
        c.multiSimilarity.epsilon = multiSimilarityEpsilon ?? c.multiSimilarity.epsilon
        c.multiSimilarity.mining = !noMultiSimilarityMiner
        return c
    }

    /// Reads the inputs, evaluates the loss, writes the gradient if asked, and returns the report.
    /// Nothing is written unless every step before the write succeeded.
    public func execute() throws -> Report {
        let x = try NPYArray.read(from: embeddings)
        guard x.shape.count == 2 else {
            throw InputError(description: "\(embeddings): expected a 2-D array of embeddings (B × d), got shape \(x.shape)")
        }
        let y = try NPYArray.read(from: labels).labels(source: labels)
        guard y.count == x.shape[0] else {
            throw InputError(description: "\(labels) has \(y.count) labels but \(embeddings) has \(x.shape[0]) rows; expected one label per row")
        }
        switch x.dtype {
        case .float32: return try evaluate(x.matrix(as: Float.self, source: embeddings), labels: y, dtype: "float32")
        case .float64: return try evaluate(x.matrix(as: Double.self, source: embeddings), labels: y, dtype: "float64")
        default:
            throw InputError(description: "\(embeddings): expected float32 or float64 embeddings, got \(x.dtype.name)")
        }
    }

    /// Evaluates in the precision of the embeddings and writes the gradient.
    private func evaluate<T: BLASScalar>(_ x: Matrix<T>, labels y: [Int], dtype: String) throws -> Report {
        let output: LossOutput<T>
        do {
            output = try lossConfiguration.evaluate(x, labels: y)
        } catch let error as MetricLearningError {
            throw InputError(description: "\(embeddings), \(labels): \(error)")
        }
        guard output.value.isFinite, output.gradient.firstNonFinite == nil else {
            throw InputError(description: "\(embeddings): the loss or its gradient overflowed to a non-finite value; expected embeddings of moderate magnitude (rescale them)")
        }
        if let gradientPath { try NPYArray(output.gradient).write(to: gradientPath) }
        return Report(loss: Double(output.value), syntheticFraction: output.syntheticFraction,
                      kind: loss, mining: mining, synthesis: synthesis, rows: x.rows, dimension: x.columns, dtype: dtype)
    }

    /// Runs the command: prints its result on stdout; errors go to stderr with a non-zero exit.
    public func run() throws {
        print(try execute().json)
    }
}
