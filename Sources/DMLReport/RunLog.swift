import Foundation

/// One `"step"` record of `log.jsonl`: the training state at an iteration.
public struct StepRecord: Sendable, Equatable {
    /// The iteration number.
    public var iteration: Int
    /// The batch loss.
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

/// The records of a run's `log.jsonl` (see docs/RUN_DIRECTORY.md). Unknown events and keys are
/// ignored; blank lines are skipped; a line that is not a JSON object, or a step / eval record
/// without its numeric `iteration` (or a step without `loss`), is an error naming `file:line`.
public struct RunLog: Sendable, Equatable {
    /// The step records in file order.
    public var steps: [StepRecord]
    /// The evaluation records in file order.
    public var evaluations: [EvalRecord]

    /// A log with the given records.
    public init(steps: [StepRecord] = [], evaluations: [EvalRecord] = []) {
        self.steps = steps
        self.evaluations = evaluations
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
            func number(_ key: String) throws -> Double {
                guard let value = record[key]?.number, value.isFinite || key != "iteration" else {
                    throw ReportError(source: where_, reason: "field \"\(key)\" must be a number")
                }
                return value
            }
            switch record["event"]?.string {
            case "step":
                let fraction: Double?
                switch record["synthetic_fraction"] {
                case nil, .null?: fraction = nil
                case .number(let f)?: fraction = f
                default: throw ReportError(source: where_, reason: "field \"synthetic_fraction\" must be a number or null")
                }
                steps.append(StepRecord(iteration: Int(try number("iteration")), loss: try number("loss"),
                                        syntheticFraction: fraction))
            case "eval":
                var metrics = [String: Double]()
                for (key, value) in record where key != "iteration" && key != "elapsed_seconds" {
                    if let d = value.number { metrics[key] = d }
                }
                evaluations.append(EvalRecord(iteration: Int(try number("iteration")), metrics: metrics))
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
