import DMLNumerics
import DMLRunDirectory
import Foundation

/// Trains one run of a grid: given the spec and the run directory (already created), train
/// and write the run directory's files; `metrics.json` must be written last, since its
/// presence marks the run as finished. Supplied by the training module.
public typealias TrainRun = (_ spec: RunSpec, _ runDirectory: String) throws -> Void

/// What the runner did, reported as it goes.
public enum ExperimentEvent: Sendable, Equatable {
    /// Run `index` (0-based) of `total` was already finished and is skipped.
    case skipped(index: Int, total: Int, spec: RunSpec, directory: String)
    /// Run `index` of `total` is starting.
    case started(index: Int, total: Int, spec: RunSpec, directory: String)
    /// Run `index` of `total` finished.
    case finished(index: Int, total: Int, spec: RunSpec, directory: String)
    /// The summary files were written.
    case wroteSummary(paths: [String])
}

/// Runs an experiment grid resumably: each run gets `EXPERIMENT_DIR/<run name>`; a run whose
/// directory holds `metrics.json` is finished and skipped, so rerunning after an interruption
/// continues where it stopped. After the last run it writes `summary.md`, `summary.csv`,
/// `summary_gains.csv` and `summary.html` into the experiment directory (and `grid.json`,
/// the grid used, before the first run).
public struct ExperimentRunner: Sendable {
    /// The grid.
    public let grid: GridConfig
    /// The experiment directory.
    public let directory: String

    /// A runner of `grid` into `directory`.
    public init(grid: GridConfig, directory: String) {
        self.grid = grid
        self.directory = directory
    }

    /// The run directory of `spec`.
    public func runDirectory(_ spec: RunSpec) -> String {
        (directory as NSString).appendingPathComponent(spec.directoryName)
    }

    /// Whether the run directory holds `metrics.json` (written last by training).
    public static func isFinished(runDirectory: String) -> Bool {
        var isDirectory: ObjCBool = false
        let path = (runDirectory as NSString).appendingPathComponent("metrics.json")
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Trains every unfinished run with `train`, in grid order, then writes the summary and
    /// returns it. An error from `train` stops the runner (finished runs stay finished). After
    /// each run the directory must hold `metrics.json`, and every run's `config.json` must name
    /// the spec's loss, mode and seed.
    @discardableResult
    public func run(train: TrainRun, progress: (ExperimentEvent) -> Void = { _ in }) throws -> ExperimentSummary {
        let specs = try grid.runSpecs()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFile.write(grid.json.prettyText + "\n", to: (directory as NSString).appendingPathComponent("grid.json"))
        for (index, spec) in specs.enumerated() {
            let path = runDirectory(spec)
            if ExperimentRunner.isFinished(runDirectory: path) {
                progress(.skipped(index: index, total: specs.count, spec: spec, directory: path))
                continue
            }
            progress(.started(index: index, total: specs.count, spec: spec, directory: path))
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try train(spec, path)
            guard ExperimentRunner.isFinished(runDirectory: path) else {
                throw ReportError(source: path, reason: "training returned without writing metrics.json")
            }
            progress(.finished(index: index, total: specs.count, spec: spec, directory: path))
        }
        var results = [RunResult]()
        for spec in specs {
            let result = try RunResult(runDirectory: runDirectory(spec))
            guard result.identity == spec.identity else {
                throw ReportError(source: (runDirectory(spec) as NSString).appendingPathComponent("config.json"),
                                  reason: "names loss \(result.identity.loss), mode \(result.identity.mode), seed \(result.identity.seed); the grid expects \(spec.identity.loss), \(spec.identity.mode), \(spec.identity.seed)")
            }
            results.append(result)
        }
        let summary = try ExperimentSummary(runs: results)
        let paths = try ExperimentSummary.write(summary, into: directory)
        progress(.wroteSummary(paths: paths))
        return summary
    }
}

extension ExperimentSummary {
    /// Writes `summary.md`, `summary.csv`, `summary_gains.csv` and `summary.html` into
    /// `directory` atomically and returns their paths.
    public static func write(_ summary: ExperimentSummary, into directory: String) throws -> [String] {
        let files = [("summary.md", summary.markdown), ("summary.csv", summary.csv),
                     ("summary_gains.csv", summary.gainsCSV), ("summary.html", summary.html)]
        return try files.map { name, text in
            let path = (directory as NSString).appendingPathComponent(name)
            try AtomicFile.write(text, to: path)
            return path
        }
    }
}
