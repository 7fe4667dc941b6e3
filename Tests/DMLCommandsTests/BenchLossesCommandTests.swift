import Testing
@testable import DMLCommands

/// `dml bench losses` parsed and run in-process on a tiny configuration.
@Suite struct BenchLossesCommandTests {
    @Test func runsATinyBenchmark() throws {
        let command = try BenchLossesCommand.parse([
            "--batch-sizes", "8", "--dimension", "4", "--repeats", "1", "--losses", "triplet", "lifted", "--modes", "plain", "hnpm+ee",
        ])
        #expect(command.batchSizes == [8] && command.losses == [.triplet, .lifted] && command.modes == ["plain", "hnpm+ee"])
        var rows = [BenchLossesCommand.Row]()
        try command.measureAll { rows.append($0) }
        // One row per layout (K = 2, 4) × loss × mode, in table order.
        #expect(rows.map { "\($0.perClass) \($0.loss.rawValue) \($0.mode)" } == [
            "2 triplet plain", "2 triplet hnpm+ee", "2 lifted plain", "2 lifted hnpm+ee",
            "4 triplet plain", "4 triplet hnpm+ee", "4 lifted plain", "4 lifted hnpm+ee",
        ])
        for row in rows {
            #expect(row.batch == 8 && row.classes * row.perClass == 8)
            // Plain losses see the batch; Embedding Expansion adds synthetic points to it.
            #expect(row.mode == "plain" ? row.points == 8 : row.points > 8, "\(row.mode): \(row.points) points")
            #expect(row.lossSeconds > 0 && row.gemmSeconds > 0 && row.ratio.isFinite)
        }
    }

    @Test func embeddingsAreLabelledAndNormalized() {
        let (x, labels) = BenchLossesCommand.embeddings(classes: 3, perClass: 2, dimension: 5, seed: 1)
        #expect(labels == [0, 0, 1, 1, 2, 2])
        for norm in x.rowSquaredNorms() { #expect(abs(norm - 1) < 1e-5) }
    }

    @Test(arguments: [["--repeats", "0"], ["--modes", "fast"], ["--batch-sizes", "10"], ["--losses", "hinge"], ["--threads", "0"]])
    func badOptionsAreRejected(arguments: [String]) {
        let error = #expect(throws: (any Error).self) { try BenchLossesCommand.parse(arguments) }
        let message = error.map { BenchLossesCommand.message(for: $0) } ?? ""
        #expect(message.contains(arguments[0]) || message.contains(arguments[1]), "\(arguments): \(message)")
    }
}
