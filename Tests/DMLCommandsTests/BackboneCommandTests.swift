import Foundation
import Testing
import DMLNumerics
import DMLData
import DMLBackbones
import DMLTraining
@testable import DMLCommands

@Suite struct BackboneCommandTests {
    /// An image folder of `classes` classes × `perClass` 40×40 RGB PNGs.
    func writeFolder(classes: Int, perClass: Int) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("backbone-\(UInt32.random(in: 0...UInt32.max))").path
        for c in 0..<classes {
            try FileManager.default.createDirectory(atPath: "\(root)/images/class\(c)", withIntermediateDirectories: true)
            for i in 0..<perClass {
                let image = Image(width: 40, height: 40, channels: 3) { x, y, ch in UInt8((c * 71 + i * 13 + x * 5 + y * 3 + ch * 60) % 256) }
                try PNGCodec.encode(image).write(to: URL(fileURLWithPath: "\(root)/images/class\(c)/\(i).png"))
            }
        }
        return root
    }

    @Test func backboneOptionsResolveAndOldConfigurationsStillLoad() throws {
        let c = try TrainCommand.parse(["--backbone", "resnet18", "--pretrained", "weights.pth", "--freeze-bn", "--dropout", "0.1",
                                        "--image-size", "224", "--resize", "256"]).resolvedConfiguration()
        #expect(c.model.architecture == .resnet18 && c.model.pretrained == "weights.pth" && c.model.freezeBatchNorm)
        #expect(c.model.dropout == 0.1 && c.dataset.imageSize == 224 && c.dataset.resize == 256)
        // The old option and the old value `cnn` still work.
        #expect(try TrainCommand.parse(["--architecture", "cnn"]).resolvedConfiguration().model.architecture == .smallCNN)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UInt32.random(in: 0...UInt32.max)).json").path
        try AtomicFile.write(#"{"model": {"architecture": "cnn"}}"#, to: root)
        #expect(try TrainCommand.parse(["--config", root]).resolvedConfiguration().model.architecture == .smallCNN)
        try AtomicFile.write(#"{"model": {"architecture": "vgg16"}}"#, to: root)
        do {
            _ = try TrainCommand.parse(["--config", root]).resolvedConfiguration()
            Issue.record("an unknown backbone was accepted")
        } catch {
            #expect("\(error)".contains("vgg16") && "\(error)".contains("efficientnet-lite0"), "\(error)")
        }
        let unknown = #expect(throws: (any Error).self) { try TrainCommand.parse(["--backbone", "vgg16"]) }
        #expect(unknown.map { TrainCommand.message(for: $0) }?.contains("vgg16") == true)
        // Pretrained weights only exist for the ImageNet architectures.
        #expect(throws: TrainingError.self) { try TrainCommand.parse(["--backbone", "small-cnn", "--pretrained", "x.pth"]).resolvedConfiguration() }
    }

    @Test func eachBackboneHasItsOwnInputNormalization() throws {
        // EfficientNet-Lite: (x − 127)/128 on 0–255 pixels.
        let lite = BackboneKind.efficientNetLite0.inputNormalization
        for v: Float in [0, 127, 255] {
            #expect(abs((v / 255 - lite.mean(channel: 0)) / lite.std(channel: 0) - (v - 127) / 128) < 1e-6)
        }
        #expect(BackboneKind.resnet50.inputNormalization == .imageNet)
        #expect(BackboneKind.googlenet.inputNormalization == Normalization(mean: [0.5], std: [0.5]))
        // The dataset pipeline uses it, with the papers' resize scaled to the crop (test: centre crop).
        var d = DatasetConfiguration()
        d.name = "folder"
        d.root = "/nonexistent"
        d.imageSize = 64
        let spec = try d.spec(normalization: lite)
        let options = try #require(try spec.imageOptions())
        #expect(options.testPipeline.normalization == lite && options.trainPipeline.normalization == lite)
        #expect(options.testPipeline.resize == .shorterSide(72) && options.testPipeline.crop == .center(width: 64, height: 64))
        #expect(options.trainPipeline.crop == .random(width: 64, height: 64) && options.trainPipeline.horizontalFlip)
    }

    @Test func featuresTrainAndEmbedWithAnImageNetBackbone() throws {
        let root = try writeFolder(classes: 4, perClass: 5)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Features of the frozen (here randomly initialized) backbone, then a head trained on them.
        for split in ["train", "test"] {
            try FeaturesCommand.parse(["--backbone", "efficientnet-lite0", "--dataset", "folder", "--data-root", root + "/images",
                                       "--split", split, "--image-size", "32", "--resize", "36",
                                       "--out", "\(root)/features/\(split)_features.npy", "--labels-out", "\(root)/features/\(split)_labels.npy"]).run()
        }
        let x = try NPYArray.read(from: root + "/features/train_features.npy")
        #expect(x.shape == [10, 1280])
        #expect(try NPYArray.read(from: root + "/features/test_labels.npy").labels() == [2, 2, 2, 2, 2, 3, 3, 3, 3, 3])
        // The two files are a class-disjoint `npy` dataset: a head trains on them.
        try TrainCommand.parse(["--dataset", "npy", "--data-root", root + "/features", "--iterations", "2", "--eval-every", "2",
                                "--classes-per-batch", "2", "--samples-per-class", "2", "--embedding-size", "4", "--quiet",
                                "--no-report", "-o", root + "/head"]).run()
        #expect(FileManager.default.fileExists(atPath: root + "/head/metrics.json"))
        // Fine-tuning the whole network end to end for two steps, then dml embed from its checkpoint.
        let run = root + "/run"
        try TrainCommand.parse([
            "--dataset", "folder", "--data-root", root + "/images", "--backbone", "efficientnet-lite0", "--image-size", "32",
            "--iterations", "2", "--eval-every", "2", "--log-every", "1", "--classes-per-batch", "2", "--samples-per-class", "2",
            "--embedding-size", "8", "--loss", "lifted", "--mining", "hnpm", "--synthesis", "ee", "--freeze-bn",
            "--quiet", "--no-report", "-o", run,
        ]).run()
        let saved = try Checkpoint(contentsOf: run + "/checkpoints/last.ckpt")
        #expect(saved.metadata.configuration.model.architecture == .efficientNetLite0)
        #expect(saved.tensors.tensors["model.backbone._blocks.15._depthwise_conv.weight"] != nil)
        let out = root + "/embedded.npy"
        try EmbedCommand.parse(["--checkpoint", run + "/checkpoints/last.ckpt", "--split", "test", "--out", out]).run()
        #expect(try NPYArray.read(from: out).shape == [10, 8])
        // A pretrained file of the wrong architecture is refused by name.
        let wrongFile = #expect(throws: (any Error).self) {
            try FeaturesCommand.parse(["--backbone", "efficientnet-lite0", "--pretrained", root + "/features/train_features.npy", "--dataset", "folder",
                                       "--data-root", root + "/images", "--image-size", "32", "--out", root + "/f.npy"]).run()
        }
        #expect(wrongFile.map { "\($0)" }?.contains("train_features.npy") == true, "\(String(describing: wrongFile))")
    }
}
