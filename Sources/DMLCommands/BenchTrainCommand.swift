import ArgumentParser
import Foundation
import DMLNumerics
import DMLNetworks

/// `dml bench train`: training throughput of the default Fashion-MNIST network.
public struct BenchTrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Images/s of forward + backward + Adam update for the default Fashion-MNIST CNN, and the share of time in GEMM.",
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

    public init() {}

    public func run() throws {
        BLASThreads.set(threads)
        let result = TrainingBenchmark.run(batchSize: batchSize, iterations: iterations, warmup: warmup,
                                           embeddingDimension: embeddingSize)
        print("SwiftMetricLearning: \(result)")
        guard torch else { return }
        // Debian's python3-torch installs into the system interpreter, which another python3 on
        // PATH (a virtual environment, pyenv) may hide.
        let systemPython = "/usr/bin/python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FileManager.default.fileExists(atPath: systemPython) ? systemPython : "/usr/bin/env")
        process.arguments = (process.executableURL?.path == systemPython ? [] : ["python3"])
            + ["benchmarks/torch_reference.py", "--threads", "\(threads)", "--batch", "\(batchSize)",
               "--iterations", "\(iterations)", "--warmup", "\(warmup)", "--embedding", "\(embeddingSize)"]
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw ValidationError("benchmarks/torch_reference.py failed (exit \(process.terminationStatus)); is python3-torch installed?")
        }
    }
}
