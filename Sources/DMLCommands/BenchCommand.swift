import ArgumentParser

/// `dml bench`: micro-benchmarks of the library's hot paths (release builds only give
/// meaningful numbers).
public struct BenchCommand: ParsableCommand {
    /// The command's name, abstract and help text.
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of the library's hot paths (build with -c release).",
        subcommands: [BenchLossesCommand.self]
    )

    /// A command with every option at its default (ArgumentParser fills the options in).
    public init() {}
}
