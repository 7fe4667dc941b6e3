import Foundation

/// One `"step"` record of `log.jsonl`: the training state at an iteration.
public struct StepRecord: Sendable, Equatable {
    /// The iteration number.
    public var iteration: Int
    /// The batch loss (NaN when the record holds `null`, as for a loss that was not finite;
    /// charts leave such points out).
    public var loss: Double
    /// The share of hardest negative pairs that involve a synthetic point; nil when the mode
    /// synthesizes nothing.
    public var syntheticFraction: Double?

    /// A step record.
    public init(iteration: Int, loss: Double, syntheticFraction: Double?) {
        self.iteration = iteration
        self.loss = loss
        self.syntheticFraction = syntheticFraction
    }
}

/// One `"eval"` record of `log.jsonl`: the metrics of an evaluation at an iteration.
public struct EvalRecord: Sendable, Equatable {
    /// The iteration number.
    public var iteration: Int
    /// Every numeric key of the record except `iteration` and `elapsed_seconds`
    /// (`recall@1`, `nmi`, `f1`, `map@r`, …).
    public var metrics: [String: Double]

    /// An evaluation record.
    public init(iteration: Int, metrics: [String: Double]) {
        self.iteration = iteration
        self.metrics = metrics
    }
}

/// One `"collapse"` record of `log.jsonl`: training saw the embeddings collapse to (nearly)
/// one point (see docs/guarantees.md).
public struct CollapseEvent: Sendable, Equatable {
    /// The iteration at which the collapse was detected.
    public var iteration: Int
    /// The first iteration of the collapsed stretch.
    public var began: Int
    /// `spread` or `loss`: which criterion held.
    public var criterion: String?
    /// The batch embeddings' relative spread when detected, and at the start.
    public var spread: Double?
    /// The relative spread of the first batch.
    public var initialSpread: Double?
    /// The mean loss when detected, and the loss's collapse value.
    public var loss: Double?
    /// The loss of a batch collapsed to one point.
    public var collapseLoss: Double?

    /// A collapse record.
    public init(iteration: Int, began: Int, criterion: String? = nil, spread: Double? = nil, initialSpread: Double? = nil,
                loss: Double? = nil, collapseLoss: Double? = nil) {
        self.iteration = iteration
        self.began = began
        self.criterion = criterion
        self.spread = spread
        self.initialSpread = initialSpread
        self.loss = loss
        self.collapseLoss = collapseLoss
    }
}

/// The records of a run's `log.jsonl` (see docs/RUN_DIRECTORY.md). Unknown events and keys are
/// ignored; blank lines are skipped; a line that is not a JSON object, or a step / eval record
/// without an integer `iteration` (or a step without `loss`), is an error naming `file:line`.
public struct RunLog: Sendable, Equatable {
    /// The step records in file order.
    public var steps: [StepRecord]
    /// The evaluation records in file order.
    public var evaluations: [EvalRecord]
    /// The collapse records (at most one per run) in file order.
    public var collapses: [CollapseEvent] = []
    /// The `"baseline"` record: the metrics of the raw test inputs, logged once before
    /// iteration 0 (the last one when there are several); nil when absent.
    public var baseline: EvalRecord?

    /// A log with the given records.
    public init(steps: [StepRecord] = [], evaluations: [EvalRecord] = [], collapses: [CollapseEvent] = [],
                baseline: EvalRecord? = nil) {
        self.steps = steps
        self.evaluations = evaluations
        self.collapses = collapses
        self.baseline = baseline
    }

    /// Parses JSON-lines text; `source` names the file in errors.
    public init(text: String, source: String) throws {
        self.init()
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let where_ = "\(source):\(offset + 1)"
            guard case .object(let record) = try JSONValue.parse(Data(trimmed.utf8), source: where_) else {
                throw ReportError(source: where_, reason: "expected a JSON object per line")
            }
            func iteration() throws -> Int {
                guard let value = record["iteration"]?.number, value == value.rounded(), abs(value) < 9e15 else {
                    throw ReportError(source: where_, reason: "field \"iteration\" must be an integer")
                }
                return Int(value)
            }
            func optionalNumber(_ key: String) throws -> Double? {
                switch record[key] {
                case nil, .null?: return nil
                case .number(let value)?: return value
                default: throw ReportError(source: where_, reason: "field \"\(key)\" must be a number or null")
                }
            }
            switch record["event"]?.string {
            case "step":
                guard record["loss"] != nil else {
                    throw ReportError(source: where_, reason: "field \"loss\" is missing (a number, or null when it was not finite)")
                }
                steps.append(StepRecord(iteration: try iteration(), loss: try optionalNumber("loss") ?? .nan,
                                        syntheticFraction: try optionalNumber("synthetic_fraction")))
            case "eval", "baseline":
                var metrics = [String: Double]()
                for (key, value) in record where key != "iteration" && key != "elapsed_seconds" {
                    if let d = value.number { metrics[key] = d }
                }
                let evaluation = EvalRecord(iteration: try iteration(), metrics: metrics)
                if record["event"]?.string == "baseline" { baseline = evaluation } else { evaluations.append(evaluation) }
            case "collapse":
                let began = try optionalNumber("began").map { Int(exactly: $0.rounded()) ?? 0 } ?? (try iteration())
                collapses.append(CollapseEvent(iteration: try iteration(), began: began, criterion: record["criterion"]?.string,
                                               spread: try optionalNumber("spread"), initialSpread: try optionalNumber("initial_spread"),
                                               loss: try optionalNumber("loss"), collapseLoss: try optionalNumber("collapse_loss")))
            default:
                continue
            }
        }
    }

    /// Reads `log.jsonl`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReportError(source: path, reason: "cannot read the file (missing or unreadable)")
        }
        try self.init(text: String(decoding: data, as: UTF8.self), source: path)
    }
}
