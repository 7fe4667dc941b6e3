import Foundation
import Testing
import DMLNumerics
import DMLData
import DMLNetworks
import DMLWeights
import DMLBackbones
import DMLDistributed
@testable import DMLTraining
import DMLRunDirectory

/// Training an ImageNet backbone from a weight file: `model.freezeThrough` (the frozen prefix
/// keeps the file's values, the rest trains, the optimizer holds state for exactly the trainable
/// parameters, a wrong layer name says which names exist) and resuming such a run (equal to the
/// uninterrupted run; the checkpoint, not the weight file, supplies the weights).
///
/// The weights are the committed PyTorch fixture of a reduced-width ResNet-18 (widths 4-8-16-32,
/// `scripts/fixtures/make_backbone_fixtures.py`), so no torch is needed; the trainer builds the
/// same reduced architecture through its backbone seam.
@Suite struct PretrainedTrainingTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DMLBackbonesTests/Fixtures/resnet18.safetensors").standardized.path

    /// The fixture's architecture: torchvision's ResNet-18 with widths 4-8-16-32 (32 features).
    static func reducedResNet18(_ kind: BackboneKind, imageSize: Int, seed: UInt64) throws -> Sequential<Float> {
        #expect(kind == .resnet18)
        return ResNet.make(.init(block: .basic, blocks: [2, 2, 2, 2], widths: [4, 8, 16, 32]), seed: seed)
    }

    /// 32×32 RGB images in [0, 1]: classes 0–5 train, 6–9 are held out, 4 images each; each
    /// class a colour and a stripe frequency, plus noise.
    static func imageDataset() throws -> Dataset {
        var rng = SeededGenerator(seed: 5)
        let side = 32, shape = SampleShape(channels: 3, height: side, width: side)
        func split(_ classes: Range<Int>) throws -> TensorSplit {
            var x = Matrix<Float>(rows: classes.count * 4, columns: shape.count)
            var labels: [Int] = []
            for (label, c) in classes.enumerated() {
                for item in 0..<4 {
                    let row = label * 4 + item
                    for ch in 0..<3 {
                        for y in 0..<side {
                            for col in 0..<side {
                                let stripe = 0.5 + 0.4 * sin(Double(col + y * (c % 3)) * Double(c + 1) / 5)
                                let tint = Double((c * 37 + ch * 91) % 100) / 100
                                let v = 0.5 * stripe + 0.4 * tint + 0.1 * rng.nextUniform()
                                x[row, (ch * side + y) * side + col] = Float(v)
                            }
                        }
                    }
                    labels.append(label)
                }
            }
            return try TensorSplit(features: x, labels: labels, classes: classes.map { DatasetClass(originalID: $0, name: "c\($0)") },
                                   sampleShape: shape, isImageData: true, source: "generated images")
        }
        return Dataset(name: "generated-images", train: try split(0..<6), test: try split(6..<10))
    }

    /// A ResNet-18 run from the weight file `pretrained`: batches of 2 classes × 2 images,
    /// evaluation (and checkpoints) every 3 iterations, one thread.
    static func configuration(_ directory: String, pretrained: String, iterations: Int = 6) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.dataset.name = "folder"
        c.model.architecture = .resnet18
        c.model.pretrained = pretrained
        c.model.embeddingSize = 8
        c.classesPerBatch = 2
        c.samplesPerClass = 2
        c.iterations = iterations
        c.evalEvery = 3
        c.logEvery = 2
        c.optimizer.learningRate = 1e-2
        c.evaluation.clustering = false
        c.evaluation.recallKs = [1, 2]
        c.threads = 1
        c.output = directory
        c.seed = 7
        return c
    }

    static func trainer(_ c: TrainingConfiguration, _ data: Dataset, start: RunStart = .fresh) throws -> Trainer {
        try Trainer(configuration: c, dataset: data, start: start, communicator: SingleProcessCommunicator(),
                    buildBackbone: reducedResNet18)
    }

    /// A copy of the fixture in a fresh directory (so a test may delete it).
    static func copyOfFixture(in directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/pretrained.safetensors"
        try FileManager.default.copyItem(atPath: fixture, toPath: path)
        return path
    }

    /// The fixture's float values by backbone parameter or buffer name (`backbone.` + PyTorch name).
    static func fixtureValues() throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (name, tensor) in try WeightFile.read(path: fixture).tensors
        where !name.hasPrefix("fc.") && !name.hasSuffix("num_batches_tracked") {
            out["backbone." + name] = try tensor.floatValues()
        }
        return out
    }

    /// The model tensors of a checkpoint as flat values, by name without `model.`.
    static func modelValues(_ checkpoint: String) throws -> [String: [Float]] {
        try Checkpoint(contentsOf: checkpoint).tensors.entries(withPrefix: "model.").tensors.mapValues { $0.elements }
    }

    @Test func theFrozenPrefixKeepsTheFileValuesAndTheRestTrains() throws {
        let data = try Self.imageDataset()
        let root = temporaryDirectory("freeze-through")
        let pretrained = try Self.copyOfFixture(in: root)
        var c = Self.configuration(root + "/run", pretrained: pretrained)
        c.model.freezeThrough = "layer2"
        c.model.freezeBatchNorm = true   // running statistics kept too: the whole prefix stays as loaded
        let trainer = try Self.trainer(c, data)
        var trainable: [String] = []
        trainer.model.visitTrainableParameters { name, _, _ in trainable.append(name) }
        try trainer.run(progress: false)

        let file = try Self.fixtureValues()
        let after = try Self.modelValues(root + "/run/checkpoints/last.ckpt")
        let frozenPrefixes = ["backbone.conv1.", "backbone.bn1.", "backbone.layer1.", "backbone.layer2."]
        func isFrozen(_ name: String) -> Bool { frozenPrefixes.contains { name.hasPrefix($0) } }
        let frozen = file.keys.filter(isFrozen), free = file.keys.filter { !isFrozen($0) }
        // conv1 + bn1 (4 tensors), 4 blocks of 2 convolutions and 2 batch norms, layer2's downsample.
        #expect(frozen.count == 5 + 4 * 10 + 5 && free.count == 2 * 25, "\(frozen.count) frozen, \(free.count) others")
        // Frozen: parameters and running statistics bit for bit the file's.
        for name in frozen { #expect(after[name] == file[name], "\(name) changed") }
        // Trainable: every parameter of layer3, layer4 (the buffers stay: --freeze-bn) moved.
        for name in free where !name.contains("running_") {
            #expect(after[name] != file[name], "\(name) did not train")
        }
        for name in free where name.contains("running_") { #expect(after[name] == file[name], "\(name)") }

        // The trainable parameters are exactly the unfrozen ones, and the optimizer's state in
        // the checkpoint covers exactly them: first and second moments, non-zero, and the step count.
        let expectedTrainable = Set(free.filter { !$0.contains("running_") } + ["embedding.weight", "embedding.bias"])
        #expect(Set(trainable) == expectedTrainable)
        let state = try Checkpoint(contentsOf: root + "/run/checkpoints/last.ckpt").tensors
        let moments = state.entries(withPrefix: "optimizer.m.").tensors, seconds = state.entries(withPrefix: "optimizer.v.").tensors
        #expect(Set(moments.keys) == expectedTrainable && Set(seconds.keys) == expectedTrainable)
        for (name, m) in moments { #expect(m.elements.contains { $0 != 0 }, "optimizer.m.\(name) is all zeros") }
        #expect(state.integers["optimizer.step"] == 6)
    }

    @Test func aFrozenRunResumedFromItsCheckpointEqualsTheUninterruptedOne() throws {
        // Without --freeze-bn the frozen prefix's batch norms still update their running
        // statistics (as PyTorch's requires_grad = False); the parameters stay.
        let data = try Self.imageDataset()
        let root = temporaryDirectory("freeze-resume")
        let pretrained = try Self.copyOfFixture(in: root)
        func config(_ directory: String) -> TrainingConfiguration {
            var c = Self.configuration(directory, pretrained: pretrained)
            c.model.freezeThrough = "layer3.0"
            return c
        }
        try Self.trainer(config(root + "/whole"), data).run(progress: false)
        #expect(throws: Trainer.SimulatedInterruption.self) {
            try Self.trainer(config(root + "/parts"), data).run(progress: false, interruptAfterCheckpoint: 3)
        }
        try Self.trainer(config(root + "/parts"), data, start: .resume).run(progress: false)
        let whole = try Self.modelValues(root + "/whole/checkpoints/last.ckpt")
        #expect(whole == (try Self.modelValues(root + "/parts/checkpoints/last.ckpt")))
        let file = try Self.fixtureValues()
        #expect(whole["backbone.layer3.0.conv2.weight"] == file["backbone.layer3.0.conv2.weight"])
        #expect(whole["backbone.layer3.1.conv1.weight"] != file["backbone.layer3.1.conv1.weight"])
        #expect(whole["backbone.bn1.running_mean"] != file["backbone.bn1.running_mean"])
    }

    @Test func aBadLayerNameListsTheValidNames() throws {
        let data = try Self.imageDataset()
        let root = temporaryDirectory("freeze-bad")
        let pretrained = try Self.copyOfFixture(in: root)
        let cases = [
            ("layer9", ["conv1", "bn1", "relu", "maxpool", "layer1", "layer4", "avgpool"]),
            ("layer2.7", ["layer2 has the layers 0, 1"]),
            ("layer2.1.conv9", ["layer2.1 has the layers conv1, bn1"]),
        ]
        for (name, mentioned) in cases {
            var c = Self.configuration(root + "/run", pretrained: pretrained)
            c.model.freezeThrough = name
            do {
                _ = try Self.trainer(c, data)
                Issue.record("freezeThrough \(name) was accepted")
            } catch let error as TrainingError {
                let text = "\(error)"
                #expect(text.contains("model.freezeThrough") && text.contains(name) && text.contains("or all"), "\(text)")
                for m in mentioned { #expect(text.contains(m), "\(name): \(text) does not mention \(m)") }
            }
            #expect(!FileManager.default.fileExists(atPath: root + "/run/config.json"))
        }
    }

    @Test func aRunFromAWeightFileResumesFromItsCheckpointNotTheFile() throws {
        let data = try Self.imageDataset()
        let root = temporaryDirectory("pretrained-resume")
        let pretrained = try Self.copyOfFixture(in: root)
        // A fresh start does load the file.
        let fresh = try Self.trainer(Self.configuration(root + "/probe", pretrained: pretrained), data)
        let file = try Self.fixtureValues()
        let loaded = fresh.model.exportState().tensors.mapValues { $0.elements }
        for (name, values) in file { #expect(loaded[name] == values, "\(name) not loaded from the file") }

        try Self.trainer(Self.configuration(root + "/whole", pretrained: pretrained), data).run(progress: false)
        #expect(throws: Trainer.SimulatedInterruption.self) {
            try Self.trainer(Self.configuration(root + "/parts", pretrained: pretrained), data)
                .run(progress: false, interruptAfterCheckpoint: 3)
        }
        // The weight file is gone: a resume needs only the checkpoint (a fresh start would fail).
        try FileManager.default.removeItem(atPath: pretrained)
        #expect(throws: (any Error).self) { try Self.trainer(Self.configuration(root + "/other", pretrained: pretrained), data) }
        try Self.trainer(Self.configuration(root + "/parts", pretrained: pretrained), data, start: .resume).run(progress: false)

        for file in ["metrics.json", "embeddings/test_embeddings.npy"] {
            let a = FileManager.default.contents(atPath: root + "/whole/" + file), b = FileManager.default.contents(atPath: root + "/parts/" + file)
            #expect(a != nil && a == b, "\(file) differs")
        }
        func log(_ run: String) throws -> [String] { try RunLog.read(from: root + "/" + run + "/log.jsonl").map { $0.withoutTimings.jsonLine() } }
        #expect(try log("whole") == log("parts"))
        for name in ["last", "best"] {
            let a = try Checkpoint(contentsOf: root + "/whole/checkpoints/\(name).ckpt").tensors
            let b = try Checkpoint(contentsOf: root + "/parts/checkpoints/\(name).ckpt").tensors
            #expect(a == b, "\(name).ckpt tensors differ")
        }
        // And the run did train away from the file.
        let trained = try Self.modelValues(root + "/whole/checkpoints/last.ckpt")
        #expect(trained["backbone.conv1.weight"] != file["backbone.conv1.weight"])
    }
}
