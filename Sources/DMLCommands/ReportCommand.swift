import ArgumentParser
import Foundation
import SwiftMetricLearning

/// `dml report RUN_DIR [--out FILE]`: writes the self-contained HTML report of a training run.
public struct ReportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (charts, retrieval grid, PCA projection) of a training run.",
        discussion: "Reads config.json, log.jsonl, metrics.json and embeddings/ of RUN_DIR (see docs/RUN_DIRECTORY.md)."
    )

    @Argument(help: "The training run directory.")
    var runDirectory: String

    @Option(name: .long, help: "The HTML file to write (default: RUN_DIR/report.html).")
    var out: String?

    @Option(name: .long, help: "Seed of the sampled retrieval queries.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Number of retrieval queries shown.")
    var queries: Int = 16

    @Option(name: .long, help: "Number of neighbours shown per query.")
    var neighbours: Int = 8

    /// The command with its default options (filled in by the argument parser).
    public init() {}

    /// Rejects option values out of range before anything is read.
    public func validate() throws {
        guard queries >= 0 else { throw ValidationError("--queries must be at least 0") }
        guard neighbours >= 1 else { throw ValidationError("--neighbours must be at least 1") }
    }

    /// Writes the report and prints the paths written.
    public func run() throws {
        var options = RunReport.Options()
        options.seed = seed
        options.queryCount = queries
        options.neighbourCount = neighbours
        let path = try RunReport.write(runDirectory: runDirectory, to: out, options: options)
        print("wrote \(path)")
    }
}
