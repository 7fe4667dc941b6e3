import DMLNumerics
import DMLNetworks

/// The measured speed of a network's evaluation-mode forward pass (what `dml features` runs).
public struct InferenceBenchmarkResult: Sendable {
    /// The batch size.
    public let batchSize: Int
    /// The compute threads of the pool the layers ran on.
    public let threads: Int
    /// Mean wall-clock seconds per batch.
    public let secondsPerBatch: Double
    /// Mean CPU seconds of the calling thread per batch.
    public let cpuSecondsPerBatch: Double
    /// Mean CPU seconds of the whole process (all threads) per batch.
    public let processCPUSecondsPerBatch: Double
    /// Mean parallel regions per batch the pool ran on more than one thread (0 at 1 thread).
    public let poolRegionsPerBatch: Double
    /// Mean seconds per batch the calling thread waited at the end of those regions.
    public let barrierSecondsPerBatch: Double
    /// Where the time of a batch went, when profiling was asked for.
    public let profile: InferenceProfile?

    /// `batchSize / secondsPerBatch`.
    public var imagesPerSecond: Double { Double(batchSize) / secondsPerBatch }
}

/// Mean seconds per batch of each part of an evaluation-mode forward pass
/// (`InferenceBenchmark.run(profile: true)`), as the model ran it: with its fused steps
/// (`Sequential.fusesInference`), so a convolution with its batch norm and activation is one
/// entry.
public struct InferenceProfile: Sendable {
    /// One step of the top-level container: a layer, or a fused group (`conv1+bn1+relu`).
    public struct StepTime: Sendable {
        /// The layer name, or the fused layers' names joined by `+`.
        public let name: String
        /// Mean seconds of its forward pass.
        public let forward: Double
        /// Of those, mean seconds inside GEMM calls (the calling thread's).
        public let gemm: Double
    }

    /// The clock every figure was read from: the calling thread's CPU time at 1 thread (the
    /// work itself, which other jobs on a busy machine do not inflate), else the wall clock.
    public let clock: BenchmarkClock
    /// The top-level steps, in order.
    public let steps: [StepTime]
    /// Per kind of leaf layer or fused step (`Conv2D 3×3 winograd + BatchNorm + ReLU`), in the
    /// order first seen; `backward` is 0.
    public let kinds: [TrainingProfile.KindTime]
    /// Mean seconds of the whole batch (on `clock`).
    public let batch: Double
}

/// A micro-benchmark of evaluation-mode forward passes: random `batch × C × H × W` inputs
/// through `model.forward(_, training: false)` on a pool of `threads` threads. Wired to
/// `dml bench train --backbone … --inference`.
public enum InferenceBenchmark {
    /// Times `iterations` batches after `warmup` untimed ones. With `profile`, every leaf layer
    /// and fused step is timed (`LayerTimer`) and every convolution's GEMM calls
    /// (`GEMMProfiler`); the top-level container's steps by name; at 1 thread by the thread's
    /// CPU clock, else by the wall clock (`InferenceProfile.clock`). The convolutions use
    /// `convolution`; OpenBLAS threads are the caller's setting (`BLASThreads`).
    public static func run(model: Sequential<Float>, input shape: TensorShape, batchSize: Int, iterations: Int = 5,
                           warmup: Int = 1, convolution: ConvolutionAlgorithm = .automatic, threads: Int = 1,
                           poolSpin: Double = ThreadPool.defaultSpinDuration, profile: Bool = false, seed: UInt64 = 1) -> InferenceBenchmarkResult {
        let pool = ThreadPool(threads: threads, spinDuration: poolSpin)
        model.use(pool: pool)
        defer { model.use(pool: nil) }
        let clock: BenchmarkClock = threads == 1 ? .threadCPU : .wall
        let gemmProfilers = TrainingBenchmark.attachGEMMProfilers(model, shared: profile ? nil : GEMMProfiler(),
                                                                  convolution: convolution, clock: clock)
        let timer = profile ? LayerTimer(clock: clock.now) { TrainingBenchmark.kindLabel($0 as! any Layer<Float>) } : nil
        model.use(timer: timer)
        defer { model.use(timer: nil) }
        var generator = SeededGenerator(seed: seed, stream: 1)
        let x = Tensor(generator.normalMatrix(rows: batchSize, columns: shape.count, as: Float.self), shape: shape)
        var wall = 0.0, cpu = 0.0, process = 0.0
        for iteration in 0..<(warmup + iterations) {
            if iteration == warmup {
                timer?.reset()
                gemmProfilers.forEach { $0.profiler.reset() }
                pool.resetStatistics()
            }
            let (w, c, p) = (BenchmarkClock.wall.now(), BenchmarkClock.threadCPU.now(), BenchmarkClock.processCPU.now())
            _ = model.forward(x, training: false)
            if iteration >= warmup {
                wall += BenchmarkClock.wall.now() - w
                cpu += BenchmarkClock.threadCPU.now() - c
                process += BenchmarkClock.processCPU.now() - p
            }
        }
        let n = Double(max(iterations, 1))
        func gemm(_ include: (TrainingBenchmark.LayerGEMMProfiler) -> Bool) -> Double {
            gemmProfilers.filter(include).reduce(0) { $0 + $1.profiler.seconds } / n
        }
        let topIndex = Dictionary(uniqueKeysWithValues: model.layers.enumerated().map { ($1.name, $0) })
        let timing = timer.map { timer in
            InferenceProfile(
                clock: clock,
                steps: timer.steps.map { step in
                    let tops = Set(step.kind.split(separator: "+").compactMap { topIndex[String($0)] })
                    return InferenceProfile.StepTime(name: step.kind, forward: step.forward / n, gemm: gemm { tops.contains($0.top) })
                },
                kinds: timer.totals.map { t in
                    TrainingProfile.KindTime(kind: t.kind, count: t.calls / max(iterations, 1), forward: t.forward / n,
                                             backward: 0, gemm: gemm { t.members.contains($0.layer) })
                },
                batch: (clock == .threadCPU ? cpu : wall) / n)
        }
        let regions = pool.statistics
        return InferenceBenchmarkResult(batchSize: batchSize, threads: threads, secondsPerBatch: wall / n,
                                        cpuSecondsPerBatch: cpu / n, processCPUSecondsPerBatch: process / n,
                                        poolRegionsPerBatch: Double(regions.regions) / n,
                                        barrierSecondsPerBatch: regions.barrierSeconds / n, profile: timing)
    }
}
