import ArgumentParser

/// `dml bench`: micro-benchmarks of the library's hot paths (release builds only give
/// meaningful numbers).
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of the library's hot paths (build with -c release).",
        subcommands: [BenchLossesCommand.self]
    )

    public init() {}
}
