import ArgumentParser
import DMLRunDirectory
import Foundation
import DMLData
import DMLBackbones
import DMLReport
import DMLTraining

/// `dml experiment`: trains a grid of runs (losses × modes × seeds) and summarizes it.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run a grid of trainings (losses × modes × seeds), resumably, and write summary tables and charts.",
        discussion: """
        GRID is a JSON file: {"losses": ["triplet", "lifted"], "modes": ["plain", "hnpm", "hnpm+ee", \
        "hnpm+symm"], "seeds": [0, 1, 2], "base": {…any keys of a run's config.json…}}. Each run goes \
        to OUTPUT/<loss>_<mode>_seed<seed>; runs that already have metrics.json are skipped, so an \
        interrupted experiment continues where it stopped. OUTPUT gets summary.md, summary.csv, \
        summary_gains.csv and summary.html.
        """
    )

    @Option(name: .long, help: "The grid file (JSON).")
    var config: String

    @Option(name: [.short, .long], help: "The experiment directory.")
    var output: String = "runs/experiment"

    @Flag(name: .long, help: "No progress display inside each run.")
    var quiet = false

    @Option(name: .long, help: "Compute threads of every run (default: the grid's base, else the machine's cores); runs one after another.")
    var threads: Int?

    func run() throws {
        let grid = try GridConfig(contentsOf: config)
        AllocatorTuning.keepLargeBlocksInTheHeap()
        // Keyed by backbone too: the backbone decides the input normalization of photos.
        var datasets = [DatasetConfiguration: [BackboneKind: Dataset]]()
        let runner = ExperimentRunner(grid: grid, directory: output)
        let summary = try runner.run(train: { spec, directory in
            let json = try JSONEncoder().encode(JSONValue.object(spec.config))
            var configuration = try JSONConfiguration.decode(TrainingConfiguration.self, from: json,
                                                             over: TrainingConfiguration(), source: config)
            configuration.output = directory
            if let threads { configuration.threads = threads }
            let data: Dataset
            if let cached = datasets[configuration.dataset]?[configuration.model.architecture] {
                data = cached
            } else {
                data = try configuration.loadDataset()
                datasets[configuration.dataset, default: [:]][configuration.model.architecture] = data
            }
            // An interrupted run continues from its last checkpoint; one that never reached
            // a checkpoint starts again.
            try Trainer(configuration: configuration, dataset: data, start: .resume).run(progress: !quiet)
            _ = try RunReport.write(runDirectory: directory)
        }, progress: { event in
            let line: String
            switch event {
            case let .skipped(index, total, spec, _): line = "[\(index + 1)/\(total)] \(spec.directoryName): already finished"
            case let .started(index, total, spec, _): line = "[\(index + 1)/\(total)] \(spec.directoryName): training"
            case let .finished(index, total, spec, directory): line = "[\(index + 1)/\(total)] \(spec.directoryName): done (\(directory))"
            case let .wroteSummary(paths): line = "Summary: " + paths.joined(separator: ", ")
            }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        })
        print(summary.markdown)
    }
}
