import ArgumentParser

/// `dml bench`: performance measurements of the library's parts.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of the library's parts.",
        subcommands: [BenchDataCommand.self]
    )

    public init() {}
}
