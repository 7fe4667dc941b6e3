import Foundation
import DMLNumerics
import DMLNetworks

/// A training checkpoint: everything needed to continue a run exactly where it stopped.
///
/// One binary file, written atomically (temporary file, then rename):
///
///     "DMLCKPT2"                       8 bytes, magic and format version
///     UInt64 little-endian             length n of the metadata (at most 64 MiB)
///     n bytes of JSON                  `CheckpointMetadata` (iteration, sampler, best metric, …)
///     UInt32 little-endian             CRC-32 (IEEE) of the 16 + n bytes before it
///     TensorArchive bytes              model parameters and buffers under "model.",
///                                      optimizer moments under "optimizer." (own CRC-32)
///
/// Every byte is covered by a checksum, so a damaged or edited file is rejected before any of
/// it is used. Version 1 files (`"DMLCKPT1"`, the same without the metadata CRC) are still
/// read; their metadata is only checked for consistency (as every checkpoint's is): the
/// configuration must pass `TrainingConfiguration.validate()`, the input shape must be three
/// positive sizes and the counters must be in range. A file that is not a checkpoint, is
/// truncated, or belongs to another model is rejected with an error naming the file.
public struct Checkpoint: Sendable {
    /// The scalar state that is not a tensor.
    public var metadata: CheckpointMetadata
    /// Model and optimizer tensors.
    public var tensors: TensorArchive<Float>

    static let magic = Data("DMLCKPT2".utf8)
    static let versionOneMagic = Data("DMLCKPT1".utf8)
    /// The largest metadata block accepted.
    static let maximumMetadataLength: UInt64 = 64 << 20

    /// A checkpoint of the given state.
    public init(metadata: CheckpointMetadata, tensors: TensorArchive<Float>) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The file's bytes.
    public func encoded() throws -> Data {
        try Checkpoint.encoded(metadataJSON: JSONConfiguration.encode(metadata), tensors: tensors)
    }

    /// The bytes of a checkpoint with the metadata JSON `json` (its CRC-32 computed here).
    static func encoded(metadataJSON json: Data, tensors: TensorArchive<Float>) -> Data {
        var out = Checkpoint.magic
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        var crc = CRC32.checksum(out).littleEndian
        withUnsafeBytes(of: &crc) { out.append(contentsOf: $0) }
        out.append(tensors.encoded())
        return out
    }

    /// Writes the checkpoint to `path` atomically.
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    /// Reads the checkpoint at `path`.
    public init(contentsOf path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TrainingError.invalidCheckpoint(file: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw TrainingError.invalidCheckpoint(file: path, reason: "is a directory, expected a checkpoint file (checkpoints/best.ckpt or last.ckpt)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.invalidCheckpoint(file: path, reason: "cannot read the file")
        }
        try self.init(decoding: data, source: path)
    }

    /// Parses checkpoint bytes; `source` names the file in errors.
    public init(decoding data: Data, source: String) throws {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(file: source, reason: reason) }
        let bytes = [UInt8](data)
        guard bytes.count >= 16 else { throw fail("not a SwiftMetricLearning checkpoint (only \(bytes.count) bytes)") }
        let head = Data(bytes[0..<8])
        let checksummed: Bool
        if head == Checkpoint.magic {
            checksummed = true
        } else if head == Checkpoint.versionOneMagic {
            checksummed = false
        } else {
            throw fail("not a SwiftMetricLearning checkpoint (bad magic bytes)")
        }
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[8 + k]) << (8 * UInt64(k)) }
        let trailer = checksummed ? 4 : 0
        guard length <= Checkpoint.maximumMetadataLength, length + UInt64(trailer) <= UInt64(bytes.count - 16) else {
            throw fail("truncated or corrupt: the metadata announces \(length) bytes, \(bytes.count - 16) remain")
        }
        let end = 16 + Int(length)
        if checksummed {
            var stored: UInt32 = 0
            for k in 0..<4 { stored |= UInt32(bytes[end + k]) << (8 * UInt32(k)) }
            let actual = CRC32.checksum(bytes[0..<end])
            guard stored == actual else {
                throw fail(String(format: "corrupt metadata: CRC-32 %08x, the file says %08x (the file was damaged or edited)", actual, stored))
            }
        }
        do {
            metadata = try CheckpointMetadata.decode(Data(bytes[16..<end]))
        } catch {
            throw fail("corrupt metadata (\(error))")
        }
        do {
            try metadata.validate()
        } catch {
            throw fail("inconsistent metadata: \(error)")
        }
        do {
            tensors = try TensorArchive<Float>(decoding: Data(bytes[(end + trailer)...]), source: source)
        } catch {
            throw fail("\(error)")
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

    /// The cross-batch memory's capacity (absent in older checkpoints and without memory: an
    /// empty queue). Its embeddings are the tensor `memory.embeddings`, `count × d`, in slot order.
    public var memoryCapacity: Int?
    /// The label of every memory slot, in slot order.
    public var memoryLabels: [Int]?
    /// The slot the memory's next enqueued row overwrites (`CrossBatchMemory.head`).
    public var memoryHead: Int?

    /// Decodes metadata JSON, its stored configuration laid over today's defaults
    /// (`TrainingConfiguration()`) as a configuration file is: every configuration key the
    /// checkpoint lacks, at any depth, takes its default — the behaviour of the runs written
    /// before the key existed (`memory` 0 = off, `processes` 1, `batchNorm` sync — the same as
    /// local for every single-process run, …) — so a checkpoint written
    /// before any later configuration key still loads. Keys the configuration no longer has are
    /// ignored, as before; a value of the wrong type stays an error. The merge keeps every number
    /// exactly as written (`ExactJSON`), so the metadata decoded is the metadata saved.
    static func decode(_ json: Data) throws -> CheckpointMetadata {
        let decoder = JSONDecoder()
        guard case .object(var object) = try decoder.decode(ExactJSON.self, from: json),
              let stored = object["configuration"] else {
            return try decoder.decode(CheckpointMetadata.self, from: json)
        }
        let defaults = try decoder.decode(ExactJSON.self, from: JSONEncoder().encode(TrainingConfiguration()))
        let merged = stored.filling(from: defaults)
        guard merged != stored else { return try decoder.decode(CheckpointMetadata.self, from: json) }
        object["configuration"] = merged
        return try decoder.decode(CheckpointMetadata.self, from: JSONEncoder().encode(ExactJSON.object(object)))
    }

    /// Checks what decoding cannot: a valid configuration, a `[C, H, W]` input shape of
    /// positive sizes whose product fits the network limits, and counters in range.
    public func validate() throws {
        try configuration.validate()
        let limit = NPYArray.maximumDimension
        guard inputShape.count == 3, inputShape.allSatisfy({ (1...limit).contains($0) }) else {
            throw TrainingError.invalidOption(name: "inputShape", value: "\(inputShape)", expected: "[channels, height, width], each 1...\(limit)")
        }
        let (area, o1) = inputShape[1].multipliedReportingOverflow(by: inputShape[2])
        let (count, o2) = area.multipliedReportingOverflow(by: inputShape[0])
        guard !o1, !o2, count <= EmbeddingNetwork.maximumParameterCount else {
            throw TrainingError.invalidOption(name: "inputShape", value: "\(inputShape)", expected: "at most \(EmbeddingNetwork.maximumParameterCount) values per sample")
        }
        guard iteration >= 0, bestIteration >= 0, bestIteration <= iteration else {
            throw TrainingError.invalidOption(name: "iteration", value: "\(iteration) (best \(bestIteration))",
                                              expected: "0 ≤ bestIteration ≤ iteration")
        }
        guard sampler.classesPerBatch == configuration.classesPerBatch, sampler.samplesPerClass == configuration.samplesPerClass,
              sampler.isWellFormed else {
            throw TrainingError.invalidOption(name: "sampler", value: "\(sampler.classesPerBatch)×\(sampler.samplesPerClass)",
                                              expected: "the configuration's batch layout and queues of its own classes")
        }
    }

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

/// A JSON value that keeps every number as written: integers exactly (up to `UInt64`), other
/// numbers as the `Double` `JSONDecoder` reads (exact), so re-encoding changes no value. (A
/// round trip through `JSONSerialization` rounds some 17-digit numbers, and a `Double` tree
/// rounds integers above 2⁵³, such as random-generator states.)
enum ExactJSON: Codable, Equatable {
    case null, bool(Bool), integer(Int64), unsigned(UInt64), number(Double), string(String)
    case array([ExactJSON]), object([String: ExactJSON])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let u = try? c.decode(UInt64.self) { self = .unsigned(u) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([ExactJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: ExactJSON].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .unsigned(let u): try c.encode(u)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// This value with every key of `defaults` it lacks added, recursively through nested
    /// objects; its own values win everywhere.
    func filling(from defaults: ExactJSON) -> ExactJSON {
        guard case .object(var own) = self, case .object(let base) = defaults else { return self }
        for (key, value) in base {
            own[key] = own[key].map { $0.filling(from: value) } ?? value
        }
        return .object(own)
    }
}
