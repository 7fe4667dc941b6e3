import ArgumentParser
import DMLRunDirectory
import Foundation
import SwiftMetricLearning

/// `dml summarize RUN_DIR… --out DIR`: the experiment summary (mean ± std over seeds per loss
/// and mode, paired gains over `plain`) of finished run directories.
public struct SummarizeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Summarize finished runs: mean ± std over seeds per (loss, mode) and paired gains over plain.",
        discussion: "Each RUN_DIR needs config.json (as dml train writes it: loss kind, mining, synthesis, seed) and metrics.json. Writes summary.md, summary.csv, summary_gains.csv and summary.html."
    )

    @Argument(help: "Finished run directories.")
    var runDirectories: [String]

    @Option(name: .long, help: "The directory to write the summary files into.")
    var out: String = "."

    /// The command with its default options (filled in by the argument parser).
    public init() {}

    /// Rejects option values out of range before anything is read.
    public func validate() throws {
        guard !runDirectories.isEmpty else { throw ValidationError("give at least one run directory") }
    }

    /// Writes the summary and prints the paths written.
    public func run() throws {
        let summary = try ExperimentSummary(runs: runDirectories.map { try RunResult(runDirectory: $0) })
        for path in try ExperimentSummary.write(summary, into: out) { print("wrote \(path)") }
    }
}
