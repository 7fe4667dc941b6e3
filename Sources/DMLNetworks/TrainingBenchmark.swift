import DMLNumerics
import Foundation

/// The measured throughput of forward + backward + optimizer update.
public struct TrainingBenchmarkResult: Sendable, CustomStringConvertible {
    /// The batch size.
    public let batchSize: Int
    /// The number of timed iterations.
    public let iterations: Int
    /// Mean seconds per iteration.
    public let secondsPerIteration: Double
    /// `batchSize / secondsPerIteration`.
    public var imagesPerSecond: Double { Double(batchSize) / secondsPerIteration }
    /// Mean CPU seconds of the calling thread per iteration (with one BLAS thread all work runs
    /// on it; on a shared machine this is steadier than the wall time).
    public let cpuSecondsPerIteration: Double
    /// `batchSize / cpuSecondsPerIteration`: the throughput the step would have with the core to itself.
    public var imagesPerCPUSecond: Double { Double(batchSize) / cpuSecondsPerIteration }
    /// The share of the iteration time spent inside GEMM calls of convolutions and linear layers.
    public let gemmShare: Double
    /// The number of trainable parameters of the model.
    public let parameterCount: Int

    public var description: String {
        let ms = secondsPerIteration * 1000
        return "batch \(batchSize): \(Int(imagesPerSecond.rounded())) images/s "
            + "(\(Int(imagesPerCPUSecond.rounded())) per CPU second of the calling thread), "
            + "\(Int((ms * 10).rounded()) / 10) ms/iteration, GEMM \(Int((gemmShare * 100).rounded())) % of the time, "
            + "\(parameterCount) parameters"
    }
}

/// A micro-benchmark of training speed: the default Fashion-MNIST CNN
/// (`ModelPresets.fashionMNIST`, Float), random 1×28×28 inputs, the gradient of
/// `½‖y − t‖²` against a random target (negligible cost), Adam. Wired to `dml bench train`.
public enum TrainingBenchmark {
    /// Times `iterations` steps of forward + backward + update after `warmup` untimed ones, with
    /// the convolutions mapped onto GEMM by `convolution`. `afterStep`, when given, runs inside
    /// the timed step after the update with the model and the step's output (to time per-step
    /// checks such as the trainer's divergence guard).
    public static func run(batchSize: Int = 128, iterations: Int = 20, warmup: Int = 3,
                           embeddingDimension: Int = 512, convolution: ConvolutionAlgorithm = .perSample,
                           seed: UInt64 = 1,
                           afterStep: ((Sequential<Float>, Matrix<Float>) -> Void)? = nil) -> TrainingBenchmarkResult {
        let model: Sequential<Float> = ModelPresets.fashionMNIST(embeddingDimension: embeddingDimension, seed: seed)
        let profiler = GEMMProfiler()
        for (_, layer) in model.layers {
            (layer as? Conv2D<Float>)?.profiler = profiler
            (layer as? Conv2D<Float>)?.algorithm = convolution
            (layer as? Linear<Float>)?.profiler = profiler
        }
        var generator = SeededGenerator(seed: seed, stream: 1)
        let input = Tensor(generator.normalMatrix(rows: batchSize, columns: 28 * 28, as: Float.self),
                           shape: TensorShape(channels: 1, height: 28, width: 28))
        let target: Matrix<Float> = generator.normalMatrix(rows: batchSize, columns: embeddingDimension)
        var optimizer = Adam<Float>()
        var seconds = 0.0, cpuSeconds = 0.0
        for iteration in 0..<(warmup + iterations) {
            if iteration == warmup { profiler.reset() }
            let start = ContinuousClock.now
            let cpuStart = BenchmarkClock.threadCPU.now()
            model.zeroGradients()
            let output = model.forward(input, training: true)
            var gradient = output
            gradient.values.add(target, scaledBy: -1)
            _ = model.backward(gradient)
            optimizer.step(model)
            afterStep?(model, output.values)
            let elapsed = ContinuousClock.now - start
            if iteration >= warmup {
                cpuSeconds += BenchmarkClock.threadCPU.now() - cpuStart
                seconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            }
        }
        return TrainingBenchmarkResult(batchSize: batchSize, iterations: iterations,
                                       secondsPerIteration: seconds / Double(max(iterations, 1)),
                                       cpuSecondsPerIteration: cpuSeconds / Double(max(iterations, 1)),
                                       gemmShare: seconds > 0 ? profiler.seconds / seconds : 0,
                                       parameterCount: model.parameterCount)
    }
}

