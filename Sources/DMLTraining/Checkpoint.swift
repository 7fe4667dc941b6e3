import Foundation
import DMLNumerics
import DMLNetworks

/// A training checkpoint: everything needed to continue a run exactly where it stopped.
///
/// One binary file, written atomically (temporary file, then rename):
///
///     "DMLCKPT1"                       8 bytes, magic and format version
///     UInt64 little-endian             length n of the metadata
///     n bytes of JSON                  `CheckpointMetadata` (iteration, sampler, best metric, …)
///     TensorArchive bytes              model parameters and buffers under "model.",
///                                      optimizer moments under "optimizer."
///
/// A file that is not a checkpoint, is truncated, or belongs to another model is rejected with
/// an error naming the file.
public struct Checkpoint: Sendable {
    /// The scalar state that is not a tensor.
    public var metadata: CheckpointMetadata
    /// Model and optimizer tensors.
    public var tensors: TensorArchive<Float>

    static let magic = Data("DMLCKPT1".utf8)

    /// A checkpoint of the given state.
    public init(metadata: CheckpointMetadata, tensors: TensorArchive<Float>) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The file's bytes.
    public func encoded() throws -> Data {
        let json = try JSONConfiguration.encode(metadata)
        var out = Checkpoint.magic
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(tensors.encoded())
        return out
    }

    /// Writes the checkpoint to `path` atomically.
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    /// Reads the checkpoint at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.invalidCheckpoint(file: path, reason: "cannot read the file")
        }
        try self.init(decoding: data, source: path)
    }

    /// Parses checkpoint bytes; `source` names the file in errors.
    public init(decoding data: Data, source: String) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 16, Data(bytes[0..<8]) == Checkpoint.magic else {
            throw TrainingError.invalidCheckpoint(file: source, reason: "not a SwiftMetricLearning checkpoint (bad magic bytes)")
        }
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[8 + k]) << (8 * UInt64(k)) }
        guard length <= UInt64(bytes.count - 16) else {
            throw TrainingError.invalidCheckpoint(file: source, reason: "truncated: the metadata needs \(length) bytes, \(bytes.count - 16) remain")
        }
        let end = 16 + Int(length)
        do {
            metadata = try JSONDecoder().decode(CheckpointMetadata.self, from: Data(bytes[16..<end]))
        } catch {
            throw TrainingError.invalidCheckpoint(file: source, reason: "corrupt metadata (\(error))")
        }
        do {
            tensors = try TensorArchive<Float>(decoding: Data(bytes[end...]), source: source)
        } catch {
            throw TrainingError.invalidCheckpoint(file: source, reason: "\(error)")
        }
    }
}

/// The non-tensor state of a checkpoint.
public struct CheckpointMetadata: Codable, Sendable, Equatable {
    /// Iterations completed.
    public var iteration: Int
    /// The batch sampler, mid-stream.
    public var sampler: ClassBalancedSampler
    /// The best value of the selection metric so far, and the iteration it was reached at.
    public var bestMetric: Double
    /// The iteration of `bestMetric`.
    public var bestIteration: Int
    /// The configuration of the run (checked on resume).
    public var configuration: TrainingConfiguration
    /// The per-sample input shape the model was built for, `[C, H, W]`.
    public var inputShape: [Int]
    /// The logging window in progress (absent in older checkpoints: an empty window).
    public var window: TrainingWindow?
    /// The collapse detector's state (absent in older checkpoints: a fresh detector).
    public var collapse: CollapseDetector?

    /// Metadata of a checkpoint.
    public init(iteration: Int, sampler: ClassBalancedSampler, bestMetric: Double, bestIteration: Int,
                configuration: TrainingConfiguration, inputShape: [Int]) {
        self.iteration = iteration
        self.sampler = sampler
        self.bestMetric = bestMetric
        self.bestIteration = bestIteration
        self.configuration = configuration
        self.inputShape = inputShape
    }
}
