import Testing
@testable import DMLCommands

/// `dml bench losses` parsed and run in-process on a tiny configuration.
@Suite struct BenchLossesCommandTests {
    @Test func runsATinyBenchmark() throws {
        let command = try BenchLossesCommand.parse([
            "--batch-sizes", "8", "--dimension", "4", "--repeats", "1", "--losses", "triplet", "lifted", "--modes", "plain", "hnpm+ee",
        ])
        #expect(command.batchSizes == [8] && command.losses == [.triplet, .lifted] && command.modes == ["plain", "hnpm+ee"])
        try command.run()
    }

    @Test func embeddingsAreLabelledAndNormalized() {
        let (x, labels) = BenchLossesCommand.embeddings(classes: 3, perClass: 2, dimension: 5, seed: 1)
        #expect(labels == [0, 0, 1, 1, 2, 2])
        for norm in x.rowSquaredNorms() { #expect(abs(norm - 1) < 1e-5) }
    }

    @Test(arguments: [["--repeats", "0"], ["--modes", "fast"], ["--batch-sizes", "10"], ["--losses", "hinge"], ["--threads", "0"]])
    func badOptionsAreRejected(arguments: [String]) {
        #expect(throws: (any Error).self) { try BenchLossesCommand.parse(arguments) }
    }
}
