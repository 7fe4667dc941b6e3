import Foundation
import DMLNumerics

/// One line of a run's `log.jsonl` (see docs/RUN_DIRECTORY.md).
public enum RunLogRecord: Sendable, Equatable {
    /// A training step: `{"event": "step", "iteration", "epoch", "loss", "synthetic_fraction",
    /// "learning_rate", "images_per_second", "elapsed_seconds"}`.
    case step(TrainingStepRecord)
    /// An evaluation on the held-out classes: `{"event": "eval", "iteration", metrics…,
    /// "elapsed_seconds"}`.
    case evaluation(iteration: Int, metrics: [String: Double], elapsedSeconds: Double)
    /// The held-out metrics of the raw inputs (`RawInputBaseline`), logged once before
    /// iteration 0: `{"event": "baseline", "iteration": 0, metrics…, "elapsed_seconds"}`.
    case baseline(metrics: [String: Double], elapsedSeconds: Double)

    /// The iteration the record belongs to.
    public var iteration: Int {
        switch self {
        case .step(let s): s.iteration
        case .evaluation(let iteration, _, _): iteration
        case .baseline: 0
        }
    }

    /// The record as one line of JSON (keys sorted, so lines are reproducible).
    public func jsonLine() -> String {
        var object: [String: Any]
        switch self {
        case .step(let s):
            object = [
                "event": "step", "iteration": s.iteration, "epoch": s.epoch, "loss": s.loss,
                "synthetic_fraction": s.syntheticFraction.map { $0 as Any } ?? NSNull(),
                "learning_rate": s.learningRate, "images_per_second": s.imagesPerSecond,
                "elapsed_seconds": s.elapsedSeconds,
            ]
        case let .evaluation(iteration, metrics, elapsed):
            object = ["event": "eval", "iteration": iteration, "elapsed_seconds": elapsed]
            for (k, v) in metrics { object[k] = v }
        case let .baseline(metrics, elapsed):
            object = ["event": "baseline", "iteration": 0, "elapsed_seconds": elapsed]
            for (k, v) in metrics { object[k] = v }
        }
        // JSON has no NaN or infinity: such a value is written as null.
        for (key, value) in object {
            if let d = value as? Double, !d.isFinite { object[key] = NSNull() }
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses one line of `log.jsonl`; `nil` for an unknown event (readers skip those).
    public static func parse(_ line: String) throws -> RunLogRecord? {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let event = object["event"] as? String else {
            throw TrainingError.invalidConfiguration(file: "log.jsonl", reason: "a line is not a JSON object with an \"event\" key: \(line.prefix(80))")
        }
        func number(_ key: String) -> Double? { (object[key] as? NSNumber)?.doubleValue }
        let iteration = (object["iteration"] as? NSNumber)?.intValue ?? 0
        switch event {
        case "step":
            return .step(TrainingStepRecord(
                iteration: iteration, epoch: number("epoch") ?? 0, loss: number("loss") ?? .nan,
                syntheticFraction: number("synthetic_fraction"), learningRate: number("learning_rate") ?? 0,
                imagesPerSecond: number("images_per_second") ?? 0, elapsedSeconds: number("elapsed_seconds") ?? 0))
        case "eval", "baseline":
            var metrics = [String: Double]()
            for (k, v) in object where !["event", "iteration", "elapsed_seconds"].contains(k) {
                if let n = v as? NSNumber { metrics[k] = n.doubleValue }
            }
            if event == "baseline" { return .baseline(metrics: metrics, elapsedSeconds: number("elapsed_seconds") ?? 0) }
            return .evaluation(iteration: iteration, metrics: metrics, elapsedSeconds: number("elapsed_seconds") ?? 0)
        default:
            return nil
        }
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

    /// A step record.
    public init(iteration: Int, epoch: Double, loss: Double, syntheticFraction: Double?, learningRate: Double,
                imagesPerSecond: Double, elapsedSeconds: Double) {
        self.iteration = iteration
        self.epoch = epoch
        self.loss = loss
        self.syntheticFraction = syntheticFraction
        self.learningRate = learningRate
        self.imagesPerSecond = imagesPerSecond
        self.elapsedSeconds = elapsedSeconds
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
