import ArgumentParser

/// `dml bench`: performance benchmarks, one subcommand per area (release builds only give
/// meaningful numbers).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release for meaningful numbers).",
        subcommands: [BenchEvalCommand.self]
    )
}
