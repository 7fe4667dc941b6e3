import Foundation

/// A finished run: its identity and its final metrics.
public struct RunResult: Sendable, Equatable {
    /// Loss, mode and seed.
    public var identity: RunIdentity
    /// The numeric members of `metrics.json` (fractions in [0, 1]: `recall@1`, `nmi`, …).
    public var metrics: [String: Double]
    /// The metrics of the raw test inputs (`metrics.json`'s `"baseline"` object); nil when absent.
    public var baseline: [String: Double]?
    /// The run directory (for messages).
    public var directory: String

    /// A result from its parts.
    public init(identity: RunIdentity, metrics: [String: Double], baseline: [String: Double]? = nil, directory: String = "") {
        self.identity = identity
        self.metrics = metrics
        self.baseline = baseline
        self.directory = directory
    }

    /// Reads `config.json` and `metrics.json` of a finished run directory.
    public init(runDirectory: String) throws {
        identity = try RunIdentity(runDirectory: runDirectory)
        let path = RunFiles(runDirectory).file(RunFiles.metrics)
        guard FileManager.default.fileExists(atPath: path) else {
            throw RunFormatError(source: path, reason: "missing: the run has not finished")
        }
        let final = try RunMetrics(contentsOf: path)
        metrics = final.numericMembers
        baseline = final.baseline
        directory = runDirectory
    }
}
