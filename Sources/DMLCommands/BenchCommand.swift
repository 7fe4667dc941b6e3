import ArgumentParser

/// `dml bench`: benchmarks of the library's hot paths, one subcommand per area (release
/// builds only give meaningful numbers).
public struct BenchCommand: ParsableCommand {
    /// The command's name, abstract and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of the library's hot paths (build with -c release).",
        subcommands: [BenchLossesCommand.self, BenchEvalCommand.self, BenchDataCommand.self, BenchTrainCommand.self, BenchConvCommand.self]
    )

    /// A command with every option at its default (ArgumentParser fills the options in).
    public init() {}
}
