import Foundation
import Testing
import ArgumentParser
import DMLNumerics
@testable import DMLCommands
import DMLTraining

@Suite struct TrainCommandTests {
    /// A tiny `.npy` feature dataset: 12 classes × 6 items of dimension 8.
    func writeFeatures(into directory: String) throws {
        var rng = SeededGenerator(seed: 4)
        let features: Matrix<Float> = rng.normalMatrix(rows: 72, columns: 8)
        try NPYArray(features).write(to: directory + "/features.npy")
        try NPYArray(labels: (0..<72).map { $0 / 6 }).write(to: directory + "/labels.npy")
    }

    @Test func trainThenEmbedWritesTheRunAndTheEmbeddings() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try writeFeatures(into: root)
        let run = root + "/run"
        let train = try TrainCommand.parse([
            "--dataset", "npy", "--data-root", root, "--iterations", "4", "--eval-every", "2", "--log-every", "2",
            "--classes-per-batch", "3", "--samples-per-class", "2", "--embedding-size", "4", "--loss", "triplet",
            "--mining", "hnpm", "--synthesis", "ee", "--margin", "0.3", "--quiet", "-o", run,
        ])
        let configuration = try train.resolvedConfiguration()
        #expect(configuration.loss.triplet.margin == 0.3 && configuration.loss.synthesis == .ee)
        #expect(configuration.model.embeddingSize == 4)
        try train.run()
        for file in ["config.json", "log.jsonl", "metrics.json", "report.html", "checkpoints/best.ckpt"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + file), "\(file)")
        }
        let out = root + "/train_embeddings.npy"
        try EmbedCommand.parse(["--checkpoint", run + "/checkpoints/last.ckpt", "--split", "train", "--out", out]).run()
        #expect(try NPYArray.read(from: out).shape == [36, 4])
        #expect(try NPYArray.read(from: root + "/train_embeddings_labels.npy").labels().count == 36)
        // A configuration file is laid under the options; unknown keys are refused.
        try AtomicFile.write(#"{"iterations": 9, "optimizer": {"learningRate": 0.5}}"#, to: root + "/c.json")
        let fromFile = try TrainCommand.parse(["--config", root + "/c.json", "--iterations", "3"]).resolvedConfiguration()
        #expect(fromFile.iterations == 3 && fromFile.optimizer.learningRate == 0.5)
        try AtomicFile.write(#"{"iteratons": 9}"#, to: root + "/bad.json")
        let typo = #expect(throws: TrainingError.self) { try TrainCommand.parse(["--config", root + "/bad.json"]).resolvedConfiguration() }
        #expect(typo.map { "\($0)" }?.contains("unknown key \"iteratons\"") == true)
        let synthesis = #expect(throws: ValidationError.self) {
            try TrainCommand.parse(["--mining", "plain", "--synthesis", "ee"]).resolvedConfiguration()
        }
        #expect(synthesis?.message == "--synthesis ee: expected none when mining is plain (synthetic points are used through hard negative pair mining: set mining to hnpm)")
    }
}

@Suite struct TrainCommandMemoryOptionTests {
    @Test func memoryOptionsReachTheConfiguration() throws {
        let c = try TrainCommand.parse(["--memory", "4096", "--memory-warmup", "200"]).resolvedConfiguration()
        #expect(c.memory == 4096 && c.memoryWarmup == 200)
        let defaults = try TrainCommand.parse([]).resolvedConfiguration()
        #expect(defaults.memory == 0 && defaults.memoryWarmup == 0)
        let negative = #expect(throws: TrainingError.self) { try TrainCommand.parse(["--memory=-1"]).resolvedConfiguration() }
        #expect(negative.map { "\($0)" }?.contains("memory") == true)
        #expect(throws: TrainingError.self) { try TrainCommand.parse(["--memory-warmup=-5"]).resolvedConfiguration() }
    }
}
