import Foundation

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
        var object: [String: LogField]
        switch self {
        case .step(let s):
            object = [
                "event": .string("step"), "iteration": .integer(s.iteration), "epoch": .number(s.epoch),
                "loss": .number(s.loss), "synthetic_fraction": s.syntheticFraction.map(LogField.number) ?? .null,
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
        return "{" + object.keys.sorted().map { LogField.quoted($0) + ":" + object[$0]!.text }.joined(separator: ",") + "}"
    }

    /// Parses one line of `log.jsonl`; `nil` for a blank line or an unknown event (readers skip
    /// those, so the format can grow). `source` names the file and line in errors.
    ///
    /// The one rule for missing fields (docs/RUN_DIRECTORY.md): `event` is required on every
    /// line, `iteration` (an integer) on `step`, `eval` and `collapse` records, and `loss` (a
    /// number, or `null` for a loss that was not finite) on a `step`. Every other field may be
    /// absent or `null`: optional values (`synthetic_fraction`, `embedding_spread`) read as nil,
    /// measured values (a collapse's `spread`, `initial_spread`, `loss`, `collapse_loss`) as NaN,
    /// counters and timings (`epoch`, `learning_rate`, `images_per_second`, `elapsed_seconds`,
    /// `allreduce_seconds`, `batchnorm_sync_seconds`) as 0 (the collective times are nil when
    /// `allgather_seconds` is absent), `began` as the record's iteration, `criterion` as `spread`, `processes` as 1. A
    /// field present with the wrong type is an error. Numbers are read exactly, so a record read
    /// back equals the one written.
    public static func parse(_ line: some StringProtocol, source: String = "log.jsonl") throws -> RunLogRecord? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        guard case .object(let object) = try JSONValue.parse(Data(trimmed.utf8), source: source) else {
            throw RunFormatError(source: source, reason: "expected a JSON object per line")
        }
        guard let event = object["event"]?.string else {
            throw RunFormatError(source: source, reason: "field \"event\" is missing (a string such as \"step\" or \"eval\")")
        }
        func fail(_ key: String, _ expected: String) -> RunFormatError {
            RunFormatError(source: source, reason: "field \"\(key)\" must be \(expected)")
        }
        func number(_ key: String) throws -> Double? {
            switch object[key] {
            case nil, .null?: return nil
            case .number(let value)?: return value
            default: throw fail(key, "a number or null")
            }
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = object[key], value != .null else { return nil }
            guard let i = value.integer else { throw fail(key, "an integer") }
            return i
        }
        func iteration() throws -> Int {
            guard let i = try integer("iteration") else { throw fail("iteration", "an integer") }
            return i
        }
        let elapsed = try number("elapsed_seconds") ?? 0
        switch event {
        case "start":
            return .start(processes: try integer("processes") ?? 1)
        case "step":
            guard object["loss"] != nil else {
                throw RunFormatError(source: source, reason: "field \"loss\" is missing (a number, or null when it was not finite)")
            }
            return .step(TrainingStepRecord(
                iteration: try iteration(), epoch: try number("epoch") ?? 0, loss: try number("loss") ?? .nan,
                syntheticFraction: try number("synthetic_fraction"), learningRate: try number("learning_rate") ?? 0,
                imagesPerSecond: try number("images_per_second") ?? 0, elapsedSeconds: elapsed,
                embeddingSpread: try number("embedding_spread"),
                collectives: try number("allgather_seconds").map { gather in
                    CollectiveStepSeconds(embeddingGather: gather, gradientReduce: try number("allreduce_seconds") ?? 0,
                                          batchNorm: try number("batchnorm_sync_seconds") ?? 0)
                }))
        case "eval", "baseline":
            var metrics = [String: Double]()
            for (k, v) in object where !["event", "iteration", "elapsed_seconds"].contains(k) {
                if let d = v.number { metrics[k] = d }
            }
            if event == "baseline" { return .baseline(metrics: metrics, elapsedSeconds: elapsed) }
            return .evaluation(iteration: try iteration(), metrics: metrics, elapsedSeconds: elapsed)
        case "collapse":
            let at = try iteration()
            var criterion = "spread"
            switch object["criterion"] {
            case nil, .null?: break
            case .string(let s)?: criterion = s
            default: throw fail("criterion", "a string (spread or loss)")
            }
            return .collapse(CollapseRecord(iteration: at, began: try integer("began") ?? at, criterion: criterion,
                                            spread: try number("spread") ?? .nan, initialSpread: try number("initial_spread") ?? .nan,
                                            loss: try number("loss") ?? .nan, collapseLoss: try number("collapse_loss") ?? .nan))
        default:
            return nil
        }
    }
}

/// A field of a log line being written: what `RunLogRecord.jsonLine()` prints.
enum LogField: Sendable {
    case null, integer(Int), number(Double), string(String)

    /// The JSON text: numbers in Swift's shortest round-trip form (`0.1`, `1e-05`, `5.0`), NaN
    /// and infinities as `null`.
    var text: String {
        switch self {
        case .null: "null"
        case .integer(let i): "\(i)"
        case .number(let d): d.isFinite ? "\(d)" : "null"
        case .string(let s): LogField.quoted(s)
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
}
