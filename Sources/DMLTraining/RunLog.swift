import Foundation
import DMLNumerics

/// One line of a run's `log.jsonl` (see docs/RUN_DIRECTORY.md).
public enum RunLogRecord: Sendable, Equatable {
    /// A training step: `{"event": "step", "iteration", "epoch", "loss", "synthetic_fraction",
    /// "learning_rate", "images_per_second", "elapsed_seconds"}`, with `"embedding_spread"` when
    /// collapse detection is on and, on several processes, `"allgather_seconds"`,
    /// `"allreduce_seconds"`, `"batchnorm_sync_seconds"` (`CollectiveStepSeconds`).
    case step(TrainingStepRecord)
    /// An evaluation on the held-out classes: `{"event": "eval", "iteration", metrics…,
    /// "elapsed_seconds"}`.
    case evaluation(iteration: Int, metrics: [String: Double], elapsedSeconds: Double)
    /// The embeddings collapsed (see `CollapseDetector`): `{"event": "collapse", "iteration"
    /// (when it was detected), "began" (the first iteration of the collapsed stretch),
    /// "criterion" ("spread" or "loss"), "spread", "initial_spread", "loss", "collapse_loss"}`.
    case collapse(CollapseRecord)
    /// The held-out metrics of the raw inputs (`RawInputBaseline`), logged once before
    /// iteration 0: `{"event": "baseline", "iteration": 0, metrics…, "elapsed_seconds"}`.
    case baseline(metrics: [String: Double], elapsedSeconds: Double)
    /// The start of a run, its first record: `{"event": "start", "iteration": 0, "processes": N}`,
    /// with `N` the processes (MPI ranks) training it, 1 for a plain run.
    case start(processes: Int)

    /// The record with its wall-clock fields (`images_per_second`, `elapsed_seconds`) set to 0:
    /// what a resumed run's log must equal, record for record, in an uninterrupted run's.
    public var withoutTimings: RunLogRecord {
        switch self {
        case .step(var s):
            s.imagesPerSecond = 0
            s.elapsedSeconds = 0
            if s.collectives != nil { s.collectives = CollectiveStepSeconds(embeddingGather: 0, gradientReduce: 0, batchNorm: 0) }
            return .step(s)
        case let .evaluation(iteration, metrics, _): return .evaluation(iteration: iteration, metrics: metrics, elapsedSeconds: 0)
        case let .baseline(metrics, _): return .baseline(metrics: metrics, elapsedSeconds: 0)
        default: return self
        }
    }

    /// The iteration the record belongs to.
    public var iteration: Int {
        switch self {
        case .step(let s): s.iteration
        case .evaluation(let iteration, _, _): iteration
        case .collapse(let c): c.iteration
        case .baseline, .start: 0
        }
    }

    /// The record as one line of JSON: keys sorted, every number written exactly (the shortest
    /// decimal that reads back to the same `Double`), NaN and infinities as `null`, so lines
    /// are reproducible and survive a resume's read-and-rewrite unchanged.
    public func jsonLine() -> String {
        var object: [String: JSONLogValue]
        switch self {
        case .step(let s):
            object = [
                "event": .string("step"), "iteration": .integer(s.iteration), "epoch": .number(s.epoch),
                "loss": .number(s.loss), "synthetic_fraction": s.syntheticFraction.map(JSONLogValue.number) ?? .null,
                "learning_rate": .number(s.learningRate), "images_per_second": .number(s.imagesPerSecond),
                "elapsed_seconds": .number(s.elapsedSeconds),
            ]
            if let spread = s.embeddingSpread { object["embedding_spread"] = .number(spread) }
            if let c = s.collectives {
                object["allgather_seconds"] = .number(c.embeddingGather)
                object["allreduce_seconds"] = .number(c.gradientReduce)
                object["batchnorm_sync_seconds"] = .number(c.batchNorm)
            }
        case let .evaluation(iteration, metrics, elapsed):
            object = ["event": .string("eval"), "iteration": .integer(iteration), "elapsed_seconds": .number(elapsed)]
            for (k, v) in metrics { object[k] = .number(v) }
        case .collapse(let c):
            object = [
                "event": .string("collapse"), "iteration": .integer(c.iteration), "began": .integer(c.began),
                "criterion": .string(c.criterion), "spread": .number(c.spread), "initial_spread": .number(c.initialSpread),
                "loss": .number(c.loss), "collapse_loss": .number(c.collapseLoss),
            ]
        case let .start(processes):
            object = ["event": .string("start"), "iteration": .integer(0), "processes": .integer(processes)]
        case let .baseline(metrics, elapsed):
            object = ["event": .string("baseline"), "iteration": .integer(0), "elapsed_seconds": .number(elapsed)]
            for (k, v) in metrics { object[k] = .number(v) }
        }
        return "{" + object.keys.sorted().map { JSONLogValue.quoted($0) + ":" + object[$0]!.text }.joined(separator: ",") + "}"
    }

    /// Parses one line of `log.jsonl`; `nil` for an unknown event (readers skip those).
    /// Numbers are read exactly (`JSONDecoder`), so a record read back equals the one written.
    public static func parse(_ line: String) throws -> RunLogRecord? {
        guard let object = try? JSONDecoder().decode([String: JSONLogValue].self, from: Data(line.utf8)),
              case .string(let event)? = object["event"] else {
            throw TrainingError.invalidConfiguration(file: "log.jsonl", reason: "a line is not a JSON object with an \"event\" key: \(line.prefix(80))")
        }
        func number(_ key: String) -> Double? { object[key]?.double }
        func integer(_ key: String) -> Int { number(key).flatMap { abs($0) < 9e15 ? Int($0) : nil } ?? 0 }
        let iteration = integer("iteration")
        switch event {
        case "start":
            return .start(processes: integer("processes"))
        case "step":
            return .step(TrainingStepRecord(
                iteration: iteration, epoch: number("epoch") ?? 0, loss: number("loss") ?? .nan,
                syntheticFraction: number("synthetic_fraction"), learningRate: number("learning_rate") ?? 0,
                imagesPerSecond: number("images_per_second") ?? 0, elapsedSeconds: number("elapsed_seconds") ?? 0,
                embeddingSpread: number("embedding_spread"),
                collectives: number("allgather_seconds").map { gather in
                    CollectiveStepSeconds(embeddingGather: gather, gradientReduce: number("allreduce_seconds") ?? 0,
                                          batchNorm: number("batchnorm_sync_seconds") ?? 0)
                }))
        case "eval", "baseline":
            var metrics = [String: Double]()
            for (k, v) in object where !["event", "iteration", "elapsed_seconds"].contains(k) {
                if let d = v.double { metrics[k] = d }
            }
            if event == "baseline" { return .baseline(metrics: metrics, elapsedSeconds: number("elapsed_seconds") ?? 0) }
            return .evaluation(iteration: iteration, metrics: metrics, elapsedSeconds: number("elapsed_seconds") ?? 0)
        case "collapse":
            var criterion = "spread"
            if case .string(let s)? = object["criterion"] { criterion = s }
            return .collapse(CollapseRecord(iteration: iteration, began: integer("began"), criterion: criterion,
                                            spread: number("spread") ?? .nan, initialSpread: number("initial_spread") ?? .nan,
                                            loss: number("loss") ?? .nan, collapseLoss: number("collapse_loss") ?? .nan))
        default:
            return nil
        }
    }
}

/// A JSON value of a log line: scalars are kept, nested values are accepted and ignored.
enum JSONLogValue: Decodable, Sendable {
    case null, bool(Bool), integer(Int), number(Double), string(String), other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let d = try? container.decode(Double.self) { self = .number(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else { self = .other }
    }

    /// The value as a number, if it is one.
    var double: Double? {
        switch self {
        case .number(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }

    /// The JSON text: numbers in Swift's shortest round-trip form (`0.1`, `1e-05`, `5.0`).
    var text: String {
        switch self {
        case .null, .other: "null"
        case .bool(let b): b ? "true" : "false"
        case .integer(let i): "\(i)"
        case .number(let d): d.isFinite ? "\(d)" : "null"
        case .string(let s): JSONLogValue.quoted(s)
        }
    }

    /// A JSON string literal.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// The `collapse` record of `log.jsonl`.
public struct CollapseRecord: Sendable, Equatable, Codable {
    /// The iteration at which the collapse was detected (the end of a logging window).
    public var iteration: Int
    /// The first iteration of the stretch over which the criterion held.
    public var began: Int
    /// `spread` (the batch embeddings' spread fell below a fraction of its initial value) or
    /// `loss` (the loss sat at its collapse value).
    public var criterion: String
    /// The relative spread of the last window (see `CollapseDetector.relativeSpread`).
    public var spread: Double
    /// The relative spread of the first logging window.
    public var initialSpread: Double
    /// The mean loss of the last window.
    public var loss: Double
    /// The loss value of a batch collapsed to one point.
    public var collapseLoss: Double

    /// A collapse record.
    public init(iteration: Int, began: Int, criterion: String, spread: Double, initialSpread: Double,
                loss: Double, collapseLoss: Double) {
        self.iteration = iteration
        self.began = began
        self.criterion = criterion
        self.spread = spread
        self.initialSpread = initialSpread
        self.loss = loss
        self.collapseLoss = collapseLoss
    }
}

/// The numbers logged for one training step.
public struct TrainingStepRecord: Sendable, Equatable, Codable {
    /// Iterations done (1-based: the first step logs 1).
    public var iteration: Int
    /// Samples seen divided by the training-split size.
    public var epoch: Double
    /// The loss of this step's batch.
    public var loss: Double
    /// The share of mined hardest pairs involving a synthetic point, `nil` without synthesis.
    public var syntheticFraction: Double?
    /// The learning rate used for this step (before multipliers).
    public var learningRate: Double
    /// Training throughput over the last logging window.
    public var imagesPerSecond: Double
    /// Wall time since the run (or its resumption) started.
    public var elapsedSeconds: Double
    /// The mean relative spread of the batch embeddings (`CollapseDetector.relativeSpread`),
    /// nil when collapse detection is off.
    public var embeddingSpread: Double?
    /// The mean time per step of the window spent in collectives, nil for a single process.
    public var collectives: CollectiveStepSeconds?

    /// A step record.
    public init(iteration: Int, epoch: Double, loss: Double, syntheticFraction: Double?, learningRate: Double,
                imagesPerSecond: Double, elapsedSeconds: Double, embeddingSpread: Double? = nil,
                collectives: CollectiveStepSeconds? = nil) {
        self.embeddingSpread = embeddingSpread
        self.collectives = collectives
        self.iteration = iteration
        self.epoch = epoch
        self.loss = loss
        self.syntheticFraction = syntheticFraction
        self.learningRate = learningRate
        self.imagesPerSecond = imagesPerSecond
        self.elapsedSeconds = elapsedSeconds
    }
}

/// The mean wall time per step spent in the collectives of a data-parallel run (`mpirun -np N`,
/// `N > 1`) over a logging window, in seconds: the `step` record's `allgather_seconds` (the
/// embeddings), `allreduce_seconds` (the fused gradient all-reduce; in local batch-norm mode
/// with the running-statistics average) and `batchnorm_sync_seconds` (the gathers and sums of
/// synchronized batch norm). Each includes the wait for the slowest rank.
public struct CollectiveStepSeconds: Sendable, Equatable, Codable {
    /// All-gather of the embeddings.
    public var embeddingGather: Double
    /// All-reduce of the gradients (and buffers).
    public var gradientReduce: Double
    /// Batch-norm collectives.
    public var batchNorm: Double

    /// Times per step.
    public init(embeddingGather: Double, gradientReduce: Double, batchNorm: Double) {
        self.embeddingGather = embeddingGather
        self.gradientReduce = gradientReduce
        self.batchNorm = batchNorm
    }

    /// The accumulated `times` divided by `steps`.
    public init(_ times: CollectiveTimes, steps: Int) {
        let n = Double(Swift.max(steps, 1))
        self.init(embeddingGather: times.embeddingGather / n, gradientReduce: times.gradientReduce / n,
                  batchNorm: times.batchNorm / n)
    }
}

/// The `log.jsonl` of a run directory.
///
/// Records are kept in memory and the whole file is rewritten atomically at each flush, so a
/// crash never leaves a torn line; on resume the log is cut back to the checkpoint's iteration,
/// so a resumed run's log equals an uninterrupted one's.
public struct RunLog: Sendable {
    /// The file.
    public let path: String
    /// The records so far, in order.
    public private(set) var records: [RunLogRecord]

    /// A log at `path`, empty.
    public init(path: String) {
        self.path = path
        self.records = []
    }

    /// Reads the records of an existing log (unknown events skipped).
    public static func read(from path: String) throws -> [RunLogRecord] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainingError.invalidConfiguration(file: path, reason: "cannot read the run log")
        }
        var out = [RunLogRecord]()
        for (n, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                if let r = try RunLogRecord.parse(String(line)) { out.append(r) }
            } catch {
                throw TrainingError.invalidConfiguration(file: path, reason: "line \(n + 1) is not a valid record")
            }
        }
        return out
    }

    /// Reopens the log of a run being resumed, keeping the records up to `iteration`.
    public static func resuming(path: String, upTo iteration: Int) throws -> RunLog {
        var log = RunLog(path: path)
        if FileManager.default.fileExists(atPath: path) {
            log.records = try read(from: path).filter { $0.iteration <= iteration }
        }
        return log
    }

    /// Adds a record (written at the next `flush`).
    public mutating func append(_ record: RunLogRecord) {
        records.append(record)
    }

    /// Writes the whole log atomically.
    public func flush() throws {
        let text = records.map { $0.jsonLine() }.joined(separator: "\n") + (records.isEmpty ? "" : "\n")
        try AtomicFile.write(text, to: path)
    }
}
