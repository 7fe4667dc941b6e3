import ArgumentParser
import Foundation
import DMLNumerics
import DMLNetworks
import DMLBackbones

/// `dml bench train`: training throughput of the default Fashion-MNIST network.
public struct BenchTrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Images/s of forward + backward + Adam update for the default Fashion-MNIST CNN or an ImageNet backbone, and the share of time in GEMM.",
        discussion: """
        The PyTorch reference of the same model and step is benchmarks/torch_reference.py \
        (Debian package python3-torch); --torch runs it in the same session for a side-by-side figure.
        """
    )

    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Timed iterations.") var iterations = 20
    @Option(help: "Untimed warm-up iterations.") var warmup = 3
    @Option(help: "Embedding dimension of the model.") var embeddingSize = 512
    @Option(help: "OpenBLAS threads.") var threads = 1
    @Flag(help: "Also run benchmarks/torch_reference.py (needs python3 with torch) with the same settings.") var torch = false
    @Option(help: "An ImageNet backbone (efficientnet-lite0, resnet18, resnet50, googlenet) with the 512-d head instead of the Fashion-MNIST CNN.")
    var backbone: BackboneKind?
    @Option(name: .customLong("image-size"), help: "Input side for --backbone.") var imageSize = 224

    public init() {}

    public func validate() throws {
        if let backbone, !backbone.isImageNetArchitecture {
            throw ValidationError("--backbone must be efficientnet-lite0, resnet18, resnet50 or googlenet (without it: the Fashion-MNIST CNN)")
        }
        guard imageSize >= 32, batchSize >= 2, iterations >= 1, threads >= 1 else {
            throw ValidationError("--image-size must be at least 32, --batch-size 2, --iterations and --threads 1")
        }
    }

    public func run() throws {
        BLASThreads.set(threads)
        let result: TrainingBenchmarkResult
        if let backbone {
            // The training step of `dml train --backbone`: random weights (speed does not depend on them).
            let network: Sequential<Float> = try Backbones.make(backbone, imageSize: imageSize, seed: 1)
            let model = Backbones.embeddingNetwork(backbone: network, featureDimension: backbone.featureDimension!,
                                                   embeddingDimension: embeddingSize, seed: 1)
            model.computesInputGradient = false
            result = TrainingBenchmark.run(model: model, input: TensorShape(channels: 3, height: imageSize, width: imageSize),
                                           batchSize: batchSize, iterations: iterations, warmup: warmup)
            print("SwiftMetricLearning \(backbone.rawValue) at \(imageSize) px: \(result)")
        } else {
            result = TrainingBenchmark.run(batchSize: batchSize, iterations: iterations, warmup: warmup,
                                           embeddingDimension: embeddingSize)
            print("SwiftMetricLearning: \(result)")
        }
        guard torch else { return }
        // Debian's python3-torch installs into the system interpreter, which another python3 on
        // PATH (a virtual environment, pyenv) may hide.
        let systemPython = "/usr/bin/python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FileManager.default.fileExists(atPath: systemPython) ? systemPython : "/usr/bin/env")
        process.arguments = (process.executableURL?.path == systemPython ? [] : ["python3"])
            + ["benchmarks/torch_reference.py", "--threads", "\(threads)", "--batch", "\(batchSize)",
               "--iterations", "\(iterations)", "--warmup", "\(warmup)", "--embedding", "\(embeddingSize)"]
            + (backbone.map { ["--backbone", $0.rawValue, "--image-size", "\(imageSize)"] } ?? [])
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw ValidationError("benchmarks/torch_reference.py failed (exit \(process.terminationStatus)); is python3-torch installed?")
        }
    }
}
