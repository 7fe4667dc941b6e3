import DMLRunDirectory
import Foundation
import Testing
import DMLNumerics
import DMLData
import DMLEvaluation
import MetricLearning
@testable import DMLTraining

/// A small generated dataset where learning is needed: class centres live in 4 of 16
/// dimensions, the other 12 carry large noise, so raw features retrieve poorly and a learned
/// projection retrieves well. Classes 0..<24 train, 24..<36 are held out.
func noisyClusterDataset(seed: UInt64 = 11) throws -> Dataset {
    var rng = SeededGenerator(seed: seed)
    let classes = 36, perClass = 8, d = 16
    var features = Matrix<Float>(rows: classes * perClass, columns: d)
    var labels = [Int]()
    for c in 0..<classes {
        let centre = (0..<4).map { _ in 3 * rng.nextNormal() }
        for s in 0..<perClass {
            let row = c * perClass + s
            for j in 0..<d { features[row, j] = Float(j < 4 ? centre[j] + 0.3 * rng.nextNormal() : 2.5 * rng.nextNormal()) }
            labels.append(c)
        }
    }
    func split(_ range: Range<Int>) throws -> TensorSplit {
        let rows = labels.indices.filter { range.contains(labels[$0]) }
        return try TensorSplit(features: features.gatheringRows(rows), labels: rows.map { labels[$0] - range.lowerBound },
                               classes: range.map { DatasetClass(originalID: $0, name: "c\($0)") },
                               sampleShape: SampleShape(channels: d, height: 1, width: 1), isImageData: false, source: "generated")
    }
    return Dataset(name: "generated", train: try split(0..<24), test: try split(24..<36))
}

func smallConfiguration(_ directory: String) -> TrainingConfiguration {
    var c = TrainingConfiguration()
    c.dataset.name = "npy"
    c.model.hiddenSizes = [32]
    c.model.embeddingSize = 8
    c.classesPerBatch = 6
    c.samplesPerClass = 4
    c.iterations = 60
    c.evalEvery = 30
    c.logEvery = 10
    c.optimizer.learningRate = 3e-3
    c.evaluation.clustering = false
    c.output = directory
    c.seed = 3
    return c
}

func temporaryDirectory(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UInt32.random(in: 0...UInt32.max))").path
}

@Suite struct TrainerTests {
    @Test func trainingImprovesHeldOutRecall() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("train")
        let trainer = try Trainer(configuration: smallConfiguration(directory), dataset: data)
        let before = try evaluate(embeddings: EmbeddingNetwork.embed(data.test, with: trainer.model),
                                  labels: data.test.labels, options: EvaluationOptions(clustering: false))
        let after = try trainer.run(progress: false)
        let r0 = before.recall(at: 1)!, r1 = after.recall(at: 1)!
        #expect(r1 > r0 + 0.1, "held-out Recall@1 \(r0) -> \(r1)")
        // The run directory holds what docs/RUN_DIRECTORY.md promises.
        for file in ["config.json", "log.jsonl", "metrics.json", "checkpoints/last.ckpt", "checkpoints/best.ckpt",
                     "embeddings/test_embeddings.npy", "embeddings/test_labels.npy"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/" + file), "\(file)")
        }
        let records = try RunLog.read(from: directory + "/log.jsonl")
        #expect(records.filter { if case .step = $0 { true } else { false } }.count == 6)
        // Evaluations: the untrained baseline at iteration 0, then iterations 30 and 60.
        #expect(records.compactMap { if case .evaluation(let i, _, _) = $0 { i } else { nil } } == [0, 30, 60])
        let saved = try NPYArray.read(from: directory + "/embeddings/test_embeddings.npy")
        #expect(saved.shape == [data.test.count, 8])
    }

    @Test func resumedRunEqualsUninterruptedRun() throws {
        let data = try noisyClusterDataset()
        // The same configuration with synthesis and mining, so every random source is involved.
        func configuration(_ directory: String, iterations: Int) -> TrainingConfiguration {
            var c = smallConfiguration(directory)
            c.loss = LossConfiguration(kind: .triplet, mining: .hnpm, synthesis: .symm)
            c.iterations = iterations
            return c
        }
        let whole = temporaryDirectory("whole")
        let full = try Trainer(configuration: configuration(whole, iterations: 60), dataset: data).run(progress: false)
        let split = temporaryDirectory("split")
        _ = try Trainer(configuration: configuration(split, iterations: 30), dataset: data).run(progress: false)
        let resumed = try Trainer(configuration: configuration(split, iterations: 60), dataset: data, resume: true).run(progress: false)
        #expect(resumed.recall(at: 1) == full.recall(at: 1))
        #expect(resumed.retrieval == full.retrieval)
        let a = try NPYArray.read(from: whole + "/embeddings/test_embeddings.npy")
        let b = try NPYArray.read(from: split + "/embeddings/test_embeddings.npy")
        #expect(a == b, "bit-identical embeddings after resume")
        let steps = { (path: String) in try RunLog.read(from: path + "/log.jsonl").compactMap { r -> Double? in
            if case .step(let s) = r { s.loss } else { nil } } }
        #expect(try steps(whole) == steps(split))
    }

    @Test func checkpointRoundTripAndCorruption() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("ckpt")
        var c = smallConfiguration(directory)
        c.iterations = 10
        c.evalEvery = 10
        let trainer = try Trainer(configuration: c, dataset: data)
        try trainer.run(progress: false)
        let path = directory + "/checkpoints/last.ckpt"
        let (model, saved, _, _) = try Trainer.loadModel(checkpoint: path)
        #expect(saved == c)
        #expect(try EmbeddingNetwork.embed(data.test, with: model) == EmbeddingNetwork.embed(data.test, with: trainer.model))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: TrainingError.self) { try Checkpoint(decoding: bytes.prefix(bytes.count / 2), source: "half.ckpt") }
        #expect(throws: TrainingError.self) { try Checkpoint(decoding: Data("not a checkpoint at all".utf8), source: "x") }
        do {
            _ = try Checkpoint(decoding: Data("DMLCKPT1".utf8) + Data(repeating: 0xFF, count: 8), source: "bad.ckpt")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("bad.ckpt"))
        }
    }

    @Test func resumingWithAnotherConfigurationIsRefused() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("mismatch")
        var c = smallConfiguration(directory)
        c.iterations = 10
        c.evalEvery = 10
        try Trainer(configuration: c, dataset: data).run(progress: false)
        c.optimizer.learningRate = 1
        #expect(throws: TrainingError.self) { _ = try Trainer(configuration: c, dataset: data, resume: true) }
    }

    @Test func configurationValidation() {
        var c = TrainingConfiguration()
        c.loss.mining = .plain
        c.loss.synthesis = .ee
        #expect(throws: TrainingError.self) { try c.validate() }
        #expect(throws: Never.self) { try TrainingConfiguration().validate() }
    }
}
