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

    /// The environment line names OpenBLAS's idle-thread timeout, and warns when more than one
    /// thread runs without it.
    @Test func theEnvironmentNoteWarnsAboutOpenBLASPollingAtSeveralThreads() throws {
        let two = try BenchLossesCommand.parse(["--threads", "2"])
        let one = try BenchLossesCommand.parse(["--threads", "1"])
        let unset = two.environmentNote(allocatorTuned: true, environment: [:])
        #expect(unset.contains("OPENBLAS_THREAD_TIMEOUT=(unset)") && unset.contains("run with OPENBLAS_THREAD_TIMEOUT=4"))
        let set = two.environmentNote(allocatorTuned: true, environment: ["OPENBLAS_THREAD_TIMEOUT": "4"])
        #expect(set.contains("OPENBLAS_THREAD_TIMEOUT=4") && !set.contains("warning"))
        #expect(!one.environmentNote(allocatorTuned: true, environment: [:]).contains("warning"))
    }

    /// With `--negative-classes` the HNPM rows carry the gradient cosine against every class
    /// (1 when the sampling keeps every class); with `--memory-synthesis` the memory grows.
    @Test func samplingAndMemorySynthesisColumns() throws {
        let sampled = try BenchLossesCommand.parse([
            "--batch-sizes", "8", "--dimension", "4", "--repeats", "1", "--losses", "lifted", "--modes", "plain", "hnpm",
            "--negative-classes", "1",
        ])
        var rows = [BenchLossesCommand.Row]()
        try sampled.measureAll { rows.append($0) }
        #expect(rows.filter { $0.mode == "plain" }.allSatisfy { $0.gradientCosine == nil })
        for row in rows where row.mode == "hnpm" {
            let cosine = try #require(row.gradientCosine)
            // 4 classes (K = 2): 1 of 3 negative classes kept; 2 classes (K = 4): the only one.
            if row.perClass == 2 {
                #expect(cosine > -1 && cosine < 0.99999, "\(cosine)")
            } else {
                #expect(abs(cosine - 1) < 1e-6, "\(cosine)")
            }
        }
        let all = try BenchLossesCommand.parse([
            "--batch-sizes", "8", "--dimension", "4", "--repeats", "1", "--losses", "lifted", "--modes", "hnpm",
            "--negative-classes", "100",
        ])
        try all.measureAll { #expect(abs($0.gradientCosine! - 1) < 1e-6) }
        let synthesized = try BenchLossesCommand.parse([
            "--batch-sizes", "8", "--dimension", "4", "--repeats", "1", "--losses", "lifted", "--modes", "hnpm+symm",
            "--memory", "8", "--memory-synthesis",
        ])
        try synthesized.measureAll { #expect($0.memory == 16) }
        #expect(throws: (any Error).self) { try BenchLossesCommand.parse(["--memory-synthesis"]) }
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
