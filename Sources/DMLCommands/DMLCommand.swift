import ArgumentParser

/// The `dml` command: train, evaluate and inspect metric-learning embeddings.
public struct DMLCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dml",
        abstract: "Deep metric learning: losses, embedding-space synthesis, training and evaluation.",
        subcommands: [
            TrainCommand.self, EvalCommand.self, EmbedCommand.self, FeaturesCommand.self, ReportCommand.self, LossCommand.self,
            ExperimentCommand.self, SummarizeCommand.self, BenchCommand.self, WeightsCommand.self, GlyphsCommand.self,
        ]
    )

    public init() {}
}
