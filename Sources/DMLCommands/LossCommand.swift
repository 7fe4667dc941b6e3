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

    @OptionGroup var options: LossOptions

    @Option(name: .customLong("memory-embeddings"), help: "Cross-batch memory embeddings, an N×d .npy array of float32 or float64 (extra reference points, no gradient).")
    var memoryEmbeddings: String?

    @Option(name: .customLong("memory-labels"), help: "Labels of the memory embeddings, a .npy array of N integers.")
    var memoryLabels: String?

    @Option(name: .customLong("grad-out"), help: "Write ∂L/∂X here (.npy, same shape and dtype as X).")
    var gradientPath: String?

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

    /// Requires `--loss` and rejects options that do not apply to the chosen loss, mining or
    /// synthesis (ArgumentParser calls it after parsing, before `run`).
    public func validate() throws {
        _ = try lossConfiguration()
        guard (memoryEmbeddings == nil) == (memoryLabels == nil) else {
            throw ValidationError("--memory-embeddings and --memory-labels go together")
        }
    }

    /// The memory points of `--memory-embeddings` / `--memory-labels` in precision `T` (nil without).
    private func readMemory<T: BLASScalar>(dimension: Int, as _: T.Type) throws -> MemoryPoints<T>? {
        guard let memoryEmbeddings, let memoryLabels else { return nil }
        let m = try NPYArray.read(from: memoryEmbeddings)
        guard m.shape.count == 2, m.shape[1] == dimension || m.shape[0] == 0 else {
            throw InputError(description: "\(memoryEmbeddings): expected a 2-D array of memory embeddings (N × \(dimension)), got shape \(m.shape)")
        }
        let y = try NPYArray.read(from: memoryLabels).labels(source: memoryLabels)
        guard y.count == m.shape[0] else {
            throw InputError(description: "\(memoryLabels) has \(y.count) labels but \(memoryEmbeddings) has \(m.shape[0]) rows; expected one label per row")
        }
        let matrix: Matrix<T>
        switch m.dtype {
        case .float32: matrix = try m.matrix(as: Float.self, source: memoryEmbeddings).converted(to: T.self)
        case .float64: matrix = try m.matrix(as: Double.self, source: memoryEmbeddings).converted(to: T.self)
        default:
            throw InputError(description: "\(memoryEmbeddings): expected float32 or float64 embeddings, got \(m.dtype.name)")
        }
        do {
            return try MemoryPoints(embeddings: matrix, labels: y)
        } catch let error as MetricLearningError {
            throw InputError(description: "\(memoryEmbeddings), \(memoryLabels): \(error)")
        }
    }

    /// The loss configuration the options describe (defaults from the spec).
    public func lossConfiguration() throws -> LossConfiguration {
        guard options.loss != nil else {
            throw ValidationError("--loss is required: one of \(LossKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var c = LossConfiguration()
        try options.apply(to: &c)
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
        let configuration = try lossConfiguration()
        let memory = try readMemory(dimension: x.columns, as: T.self)
        let output: LossOutput<T>
        do {
            output = try configuration.evaluate(x, labels: y, memory: memory)
        } catch let error as MetricLearningError {
            throw InputError(description: "\(embeddings), \(labels): \(error)")
        }
        guard output.value.isFinite, output.gradient.firstNonFinite == nil else {
            throw InputError(description: "\(embeddings): the loss or its gradient overflowed to a non-finite value; expected embeddings of moderate magnitude (rescale them)")
        }
        if let gradientPath { try NPYArray(output.gradient).write(to: gradientPath) }
        return Report(loss: Double(output.value), syntheticFraction: output.syntheticFraction,
                      kind: configuration.kind, mining: configuration.mining, synthesis: configuration.synthesis, rows: x.rows, dimension: x.columns, dtype: dtype)
    }

    /// Runs the command: prints its result on stdout; errors go to stderr with a non-zero exit.
    public func run() throws {
        print(try execute().json)
    }
}
