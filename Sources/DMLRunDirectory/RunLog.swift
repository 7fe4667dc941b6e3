import Foundation
import DMLNumerics

/// The `log.jsonl` of a run directory: its records, in order (docs/RUN_DIRECTORY.md).
///
/// Training appends records and rewrites the whole file atomically at each flush, so a crash
/// never leaves a torn line; on resume the log is cut back to the checkpoint's iteration, so a
/// resumed run's log equals an uninterrupted one's. Reports read the same records back
/// (`init(contentsOf:)`), with the one parsing rule of `RunLogRecord.parse`.
public struct RunLog: Sendable, Equatable {
    /// The file.
    public let path: String
    /// The records so far, in order.
    public private(set) var records: [RunLogRecord]

    /// A log at `path` with the given records (none by default).
    public init(path: String, records: [RunLogRecord] = []) {
        self.path = path
        self.records = records
    }

    /// Parses JSON-lines text (blank lines and unknown events skipped); `source` names the file
    /// in errors, which say `source:line`.
    public init(text: String, source: String) throws {
        var records = [RunLogRecord]()
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let record = try RunLogRecord.parse(line, source: "\(source):\(offset + 1)") { records.append(record) }
        }
        self.init(path: source, records: records)
    }

    /// Reads the log at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunFormatError(source: path, reason: "cannot read the run log (missing or unreadable)")
        }
        try self.init(text: String(decoding: data, as: UTF8.self), source: path)
    }

    /// The records of the log at `path`.
    public static func read(from path: String) throws -> [RunLogRecord] {
        try RunLog(contentsOf: path).records
    }

    /// Reopens the log of a run being resumed, keeping the records up to `iteration` (an empty
    /// log when the file does not exist).
    public static func resuming(path: String, upTo iteration: Int) throws -> RunLog {
        guard FileManager.default.fileExists(atPath: path) else { return RunLog(path: path) }
        return RunLog(path: path, records: try read(from: path).filter { $0.iteration <= iteration })
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

    // MARK: Views for readers

    /// The `step` records in file order.
    public var steps: [TrainingStepRecord] {
        records.compactMap { if case .step(let s) = $0 { s } else { nil } }
    }

    /// The `eval` records in file order.
    public var evaluations: [EvaluationRecord] {
        records.compactMap {
            if case let .evaluation(iteration, metrics, elapsed) = $0 {
                EvaluationRecord(iteration: iteration, metrics: metrics, elapsedSeconds: elapsed)
            } else { nil }
        }
    }

    /// The `collapse` records (at most one per run) in file order.
    public var collapses: [CollapseRecord] {
        records.compactMap { if case .collapse(let c) = $0 { c } else { nil } }
    }

    /// The `baseline` record (the metrics of the raw test inputs, logged once before iteration
    /// 0; the last one when there are several), nil when absent.
    public var baseline: EvaluationRecord? {
        records.reversed().lazy.compactMap {
            if case let .baseline(metrics, elapsed) = $0 { EvaluationRecord(iteration: 0, metrics: metrics, elapsedSeconds: elapsed) } else { nil }
        }.first
    }
}

/// The metrics of one evaluation in `log.jsonl` (an `eval` record, or the `baseline`).
public struct EvaluationRecord: Sendable, Equatable {
    /// The iteration (0 for the baseline and the untrained network).
    public var iteration: Int
    /// Every numeric key of the record except `iteration` and `elapsed_seconds`
    /// (`recall@1`, `nmi`, `f1`, `map@r`, …).
    public var metrics: [String: Double]
    /// How long the evaluation took.
    public var elapsedSeconds: Double

    /// An evaluation record.
    public init(iteration: Int, metrics: [String: Double], elapsedSeconds: Double = 0) {
        self.iteration = iteration
        self.metrics = metrics
        self.elapsedSeconds = elapsedSeconds
    }
}
