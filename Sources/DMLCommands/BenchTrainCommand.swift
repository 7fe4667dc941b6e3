import ArgumentParser
import Foundation
import DMLNumerics
import DMLNetworks
import DMLTraining

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
    @Flag(name: .customLong("guard-cost"), help: "Also time the trainer's per-step divergence guard and collapse spread: runs without and with them alternately (A B A B) and prints the ratio.")
    var guardCost = false
    @Flag(help: "Also run benchmarks/torch_reference.py (needs python3 with torch) with the same settings.") var torch = false

    public init() {}

    /// Seconds per step without (A) and with (B) `DivergenceGuard` + `CollapseDetector.relativeSpread`,
    /// alternating A B A B, and the cost of B as a share of A.
    func printGuardCost() {
        let optimizer = OptimizerConfiguration()
        var plain = [Double](), guarded = [Double]()
        var failures = 0
        var checkSeconds = 0.0, checks = 0
        for _ in 0..<2 {
            plain.append(TrainingBenchmark.run(batchSize: batchSize, iterations: iterations, warmup: warmup,
                                               embeddingDimension: embeddingSize).secondsPerIteration)
            guarded.append(TrainingBenchmark.run(batchSize: batchSize, iterations: iterations, warmup: warmup,
                                                 embeddingDimension: embeddingSize) { model, embeddings in
                let start = ContinuousClock.now
                defer {
                    let elapsed = ContinuousClock.now - start
                    checkSeconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                    checks += 1
                }
                do {
                    try DivergenceGuard.checkEmbeddings(embeddings, iteration: 1, optimizer: optimizer)
                    try DivergenceGuard.checkModel(model, iteration: 1, optimizer: optimizer)
                } catch { failures += 1 }
                _ = CollapseDetector.relativeSpread(embeddings)
            }.secondsPerIteration)
        }
        let a = plain.reduce(0, +) / 2, b = guarded.reduce(0, +) / 2
        let runs = zip(plain, guarded).map { String(format: "%.2f/%.2f ms", $0 * 1e3, $1 * 1e3) }.joined(separator: ", ")
        print(String(format: "divergence guard + collapse spread: %.2f ms per step without, %.2f ms with (%+.1f %%", a * 1e3, b * 1e3, 100 * (b / a - 1))
              + "; A/B runs \(runs))" + (failures > 0 ? "; the guard fired \(failures) times" : ""))
        let perCheck = checkSeconds / Double(max(checks, 1))
        print(String(format: "the checks alone: %.3f ms per step, %.2f %% of a step without them", perCheck * 1e3, 100 * perCheck / a))
    }

    public func run() throws {
        BLASThreads.set(threads)
        let result = TrainingBenchmark.run(batchSize: batchSize, iterations: iterations, warmup: warmup,
                                           embeddingDimension: embeddingSize)
        print("SwiftMetricLearning: \(result)")
        if guardCost { printGuardCost() }
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
