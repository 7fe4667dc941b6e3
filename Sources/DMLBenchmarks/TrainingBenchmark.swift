import DMLNumerics
import DMLNetworks
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
    /// Mean CPU seconds of the calling thread per iteration (with one thread all work runs
    /// on it; on a shared machine this is steadier than the wall time).
    public let cpuSecondsPerIteration: Double
    /// `batchSize / cpuSecondsPerIteration`: the throughput the step would have with the core to itself.
    public var imagesPerCPUSecond: Double { Double(batchSize) / cpuSecondsPerIteration }
    /// Mean CPU seconds of the whole process (all threads) per iteration: on a shared machine
    /// steadier than the wall time; its ratio to the one-thread figure is the parallel overhead.
    public let processCPUSecondsPerIteration: Double
    /// `batchSize / processCPUSecondsPerIteration`.
    public var imagesPerProcessCPUSecond: Double { Double(batchSize) / processCPUSecondsPerIteration }
    /// The share of the iteration time spent inside GEMM calls of convolutions and linear layers.
    public let gemmShare: Double
    /// The number of trainable parameters of the model.
    public let parameterCount: Int
    /// The compute threads of the pool the layers and the optimizer ran on.
    public let threads: Int
    /// Where the time of a step went, when profiling was asked for.
    public let profile: TrainingProfile?
    /// Mean parallel regions per iteration the pool ran on more than one thread (0 at 1 thread).
    public var poolRegionsPerIteration = 0.0
    /// Mean seconds per iteration the calling thread waited, after its own chunk, at the end of
    /// those regions for the other workers (`ThreadPool.Statistics.barrierSeconds`).
    public var barrierSecondsPerIteration = 0.0
    /// Mean seconds per iteration from a region's start to its helpers' start, summed over the
    /// helpers (`ThreadPool.Statistics.helperStartSeconds`).
    public var helperStartSecondsPerIteration = 0.0
    /// Mean helper chunks per iteration the calling thread ran itself because no helper had
    /// claimed them in time (`ThreadPool.Statistics.chunksRunByCaller`).
    public var chunksRunByCallerPerIteration = 0.0
    /// The share of the machine's CPU time the host stole during the timed iterations
    /// (`HostCPUTime`; nil off Linux or when too short to see): runs with a large share measured
    /// the host's load rather than the code.
    public var hostStealShare: Double?

    public var description: String {
        let ms = secondsPerIteration * 1000
        let cpu = "(\(Int(imagesPerCPUSecond.rounded())) per CPU second of the calling thread, "
            + "\(Int(imagesPerProcessCPUSecond.rounded())) per CPU second of all threads), "
        return "batch \(batchSize), \(threads) thread(s): \(Int(imagesPerSecond.rounded())) images/s "
            + cpu + "\(Int((ms * 10).rounded()) / 10) ms/iteration, GEMM \(Int((gemmShare * 100).rounded())) % of the time, "
            + "\(parameterCount) parameters"
            + (threads > 1 ? String(format: ", %.0f pool regions/iteration, caller at their barriers %.2f ms/iteration, "
                                    + "helpers' start after a region's %.2f ms/iteration, %.1f helper chunks/iteration run by the caller",
                                    poolRegionsPerIteration, barrierSecondsPerIteration * 1000,
                                    helperStartSecondsPerIteration * 1000, chunksRunByCallerPerIteration) : "")
            + (hostStealShare.map { String(format: ", host steal %.1f %% of the CPU time", $0 * 100) } ?? "")
    }
}

/// Mean seconds per step of each part of a training step (`TrainingBenchmark.run(profile: true)`).
public struct TrainingProfile: Sendable {
    /// One layer's share of a step.
    public struct LayerTime: Sendable {
        /// The layer's name in the model.
        public let name: String
        /// Its type (`Conv2D`, `BatchNorm`, …).
        public let kind: String
        /// Mean seconds of its forward pass.
        public let forward: Double
        /// Mean seconds of its backward pass.
        public let backward: Double
        /// Of those, mean seconds inside GEMM calls (convolutions and linear layers).
        public let gemm: Double
        /// The category of the non-GEMM time: `im2col + layout` for a convolution, `BN`,
        /// `elementwise` (ReLU, L2 normalization, dropout), `pooling`, `bias` for a linear layer.
        public var category: String {
            switch kind {
            case "Conv2D": return "im2col + layout"
            case "BatchNorm": return "BN"
            case "ReLU", "L2Normalize", "Dropout": return "elementwise"
            case "MaxPool2D", "AvgPool2D", "GlobalAvgPool": return "pooling"
            case "Linear": return "bias"
            default: return "other"
            }
        }
    }

    /// One kind of leaf layer's share of a step, over the whole model (nested containers included).
    public struct KindTime: Sendable {
        /// The kind (`TrainingBenchmark.kindLabel`: `Conv2D 3×3`, `Conv2D pointwise`, `BatchNorm`, …).
        public let kind: String
        /// Layers of the kind (forward passes per step).
        public let count: Int
        /// Mean seconds of their forward passes.
        public let forward: Double
        /// Mean seconds of their backward passes.
        public let backward: Double
        /// Of those, mean seconds inside GEMM calls.
        public let gemm: Double
    }

    /// Per layer, in model order.
    public let layers: [LayerTime]
    /// Per kind of leaf layer, in the order first seen (`LayerTimer`); the top-level layers'
    /// time beyond these sums is the containers' own work (residual sums, concatenation).
    public let kinds: [KindTime]
    /// Mean seconds of the loss (value and gradient) per step.
    public let loss: Double
    /// Mean seconds of the optimizer update per step.
    public let optimizer: Double
    /// Mean seconds of zeroing the gradients per step.
    public let zeroGradients: Double
    /// Mean seconds waiting for the next batch (0 here: the benchmark's batch is in memory).
    public let dataWait: Double
    /// Mean seconds of the whole step.
    public let step: Double

    /// Seconds per step by category: `GEMM`, the layer categories, `loss`, `optimizer`,
    /// `zero gradients`, `waiting on data`, and `unaccounted` (the step minus all of these).
    public var categories: [(name: String, seconds: Double)] {
        var totals = [String: Double]()
        var order = ["GEMM"]
        totals["GEMM"] = layers.reduce(0) { $0 + $1.gemm }
        for layer in layers {
            if totals[layer.category] == nil { order.append(layer.category) }
            totals[layer.category, default: 0] += layer.forward + layer.backward - layer.gemm
        }
        var out = order.map { ($0, totals[$0]!) }
        out += [("loss", loss), ("optimizer", optimizer), ("zero gradients", zeroGradients), ("waiting on data", dataWait)]
        out.append(("unaccounted", step - out.reduce(0) { $0 + $1.1 }))
        return out
    }
}

/// A micro-benchmark of training speed: the default Fashion-MNIST CNN
/// (`ModelPresets.fashionMNIST`, Float), random 1×28×28 inputs, the gradient of
/// `½‖y − t‖²` against a random target (negligible cost), Adam. Wired to `dml bench train`.
public enum TrainingBenchmark {
    /// Times `iterations` steps of forward + backward + update of the default Fashion-MNIST CNN
    /// after `warmup` untimed ones (see `run(model:input:…)`).
    public static func run(batchSize: Int = 128, iterations: Int = 20, warmup: Int = 3,
                           embeddingDimension: Int = 512, convolution: ConvolutionAlgorithm = .automatic,
                           threads: Int = 1, poolSpin: Double = ThreadPool.defaultSpinDuration, profile: Bool = false, seed: UInt64 = 1,
                           afterStep: ((Sequential<Float>, Matrix<Float>) -> Void)? = nil) -> TrainingBenchmarkResult {
        let model: Sequential<Float> = ModelPresets.fashionMNIST(embeddingDimension: embeddingDimension, seed: seed)
        return run(model: model, input: TensorShape(channels: 1, height: 28, width: 28), batchSize: batchSize,
                   iterations: iterations, warmup: warmup, convolution: convolution, threads: threads,
                   poolSpin: poolSpin, profile: profile, seed: seed, afterStep: afterStep)
    }

    /// `copies` independent single-thread runs of `run(batchSize:…)` at the same time, one on
    /// each thread of a pool of `copies` threads: each builds its own model, inputs and optimizer
    /// (a single-thread pool, nothing shared with the others), so the sum of their images/s is
    /// what this machine gives `copies` cores of perfectly parallel work in this process at this
    /// moment — the yardstick a `copies`-thread run's scaling is judged against on a shared host
    /// (`dml bench train --scaling-rounds`). OpenBLAS must be single-threaded (the caller's
    /// `BLASThreads` setting, which is process-wide). Results in copy order.
    public static func runIndependent(copies: Int, batchSize: Int = 128, iterations: Int = 20, warmup: Int = 3,
                                      embeddingDimension: Int = 512, convolution: ConvolutionAlgorithm = .automatic,
                                      poolSpin: Double = ThreadPool.defaultSpinDuration, seed: UInt64 = 1) -> [TrainingBenchmarkResult] {
        precondition(copies >= 1, "runIndependent needs at least one copy")
        let pool = ThreadPool(threads: copies, spinDuration: poolSpin)
        // One block per copy, so each of the pool's threads runs one; the blocks' results come
        // back in block order.
        return pool.reduce(count: copies, blockSize: 1, initial: []) { range in
            range.map { _ in
                run(batchSize: batchSize, iterations: iterations, warmup: warmup, embeddingDimension: embeddingDimension,
                    convolution: convolution, threads: 1, poolSpin: poolSpin, seed: seed)
            }
        } combine: { $0 + $1 }
    }

    /// Times `iterations` steps of forward + backward + update of any `model` whose output is a
    /// feature vector, on random inputs of shape `input`, after `warmup` untimed ones, with the
    /// convolutions that run through im2col + GEMM mapped onto GEMM by `convolution` and the
    /// layers and the optimizer on a pool of `threads` threads. OpenBLAS threads are the caller's
    /// setting (`BLASThreads`). Every convolution and linear layer, at any depth, reports its GEMM
    /// time. The pool's workers poll `poolSpin` seconds between regions (`ThreadPool.spinDuration`).
    /// With `profile`, every top-level layer's forward and backward pass is timed on its own
    /// (the step runs the layers one by one, exactly as `Sequential` does). `afterStep`, when
    /// given, runs inside the timed step after the update with the model and the step's output
    /// (to time per-step checks such as the trainer's divergence guard).
    public static func run(model: Sequential<Float>, input shape: TensorShape, batchSize: Int, iterations: Int = 20,
                           warmup: Int = 3, convolution: ConvolutionAlgorithm = .automatic,
                           threads: Int = 1, poolSpin: Double = ThreadPool.defaultSpinDuration, profile: Bool = false, seed: UInt64 = 1,
                           afterStep: ((Sequential<Float>, Matrix<Float>) -> Void)? = nil) -> TrainingBenchmarkResult {
        let pool = ThreadPool(threads: threads, spinDuration: poolSpin)
        model.use(pool: pool)
        let profiler = GEMMProfiler()
        let gemmProfilers = attachGEMMProfilers(model, shared: profile ? nil : profiler, convolution: convolution)
        let timer = profile ? LayerTimer { kindLabel($0 as! any Layer<Float>) } : nil
        model.use(timer: timer)
        defer { model.use(timer: nil) }
        let outputDimension = (try? model.outputShape(for: shape).count) ?? 0
        var generator = SeededGenerator(seed: seed, stream: 1)
        let input = Tensor(generator.normalMatrix(rows: batchSize, columns: shape.count, as: Float.self), shape: shape)
        let target: Matrix<Float> = generator.normalMatrix(rows: batchSize, columns: outputDimension)
        var optimizer = Adam<Float>(pool: pool)
        var seconds = 0.0, cpuSeconds = 0.0, processSeconds = 0.0
        var forward = [Double](repeating: 0, count: model.layers.count), backward = forward
        var lossSeconds = 0.0, optimizerSeconds = 0.0, zeroSeconds = 0.0
        func timed(_ total: inout Double, _ body: () -> Void) {
            let start = ContinuousClock.now
            body()
            total += (ContinuousClock.now - start).seconds
        }
        var hostBefore: HostCPUTime?
        for iteration in 0..<(warmup + iterations) {
            if iteration == warmup {
                hostBefore = HostCPUTime.now()
                profiler.reset()
                gemmProfilers.forEach { $0.profiler.reset() }
                timer?.reset()
                forward = forward.map { _ in 0 }
                backward = forward
                (lossSeconds, optimizerSeconds, zeroSeconds) = (0, 0, 0)
                pool.resetStatistics()
            }
            let start = ContinuousClock.now
            let cpuStart = BenchmarkClock.threadCPU.now()
            let processStart = BenchmarkClock.processCPU.now()
            if profile {
                timed(&zeroSeconds) { model.zeroGradients() }
                var x = input
                for (index, entry) in model.layers.enumerated() {
                    let layer = entry.layer, input = x
                    timed(&forward[index]) {
                        x = layer.isLeaf ? timer!.time(layer, backward: false, { layer.forward(input, training: true) })
                                         : layer.forward(input, training: true)
                    }
                }
                var gradient = x
                timed(&lossSeconds) { gradient.values.add(target, scaledBy: -1) }
                for (index, entry) in model.layers.enumerated().reversed() {
                    let layer = entry.layer, upstream = gradient
                    timed(&backward[index]) {
                        gradient = layer.isLeaf ? timer!.time(layer, backward: true, { layer.backward(upstream) })
                                                : layer.backward(upstream)
                    }
                }
                timed(&optimizerSeconds) { optimizer.step(model) }
                afterStep?(model, x.values)
            } else {
                model.zeroGradients()
                let output = model.forward(input, training: true)
                var gradient = output
                gradient.values.add(target, scaledBy: -1)
                _ = model.backward(gradient)
                optimizer.step(model)
                afterStep?(model, output.values)
            }
            let elapsed = ContinuousClock.now - start
            if iteration >= warmup {
                cpuSeconds += BenchmarkClock.threadCPU.now() - cpuStart
                processSeconds += BenchmarkClock.processCPU.now() - processStart
                seconds += elapsed.seconds
            }
        }
        let n = Double(max(iterations, 1))
        let gemmSeconds = profile ? gemmProfilers.reduce(0) { $0 + $1.profiler.seconds } : profiler.seconds
        func gemm(_ include: (LayerGEMMProfiler) -> Bool) -> Double {
            gemmProfilers.filter(include).reduce(0) { $0 + $1.profiler.seconds } / n
        }
        let timing = profile ? TrainingProfile(
            layers: model.layers.enumerated().map { index, entry in
                TrainingProfile.LayerTime(name: entry.name, kind: kindName(entry.layer), forward: forward[index] / n,
                                          backward: backward[index] / n, gemm: gemm { $0.top == index })
            },
            kinds: timer!.totals.map { t in
                TrainingProfile.KindTime(kind: t.kind, count: t.calls / max(iterations, 1), forward: t.forward / n,
                                         backward: t.backward / n, gemm: gemm { t.members.contains($0.layer) })
            },
            loss: lossSeconds / n, optimizer: optimizerSeconds / n, zeroGradients: zeroSeconds / n, dataWait: 0,
            step: seconds / n) : nil
        var result = TrainingBenchmarkResult(batchSize: batchSize, iterations: iterations,
                                             secondsPerIteration: seconds / n,
                                             cpuSecondsPerIteration: cpuSeconds / n,
                                             processCPUSecondsPerIteration: processSeconds / n,
                                             gemmShare: seconds > 0 ? gemmSeconds / seconds : 0,
                                             parameterCount: model.parameterCount, threads: threads, profile: timing)
        let regions = pool.statistics
        result.poolRegionsPerIteration = Double(regions.regions) / n
        result.barrierSecondsPerIteration = regions.barrierSeconds / n
        result.helperStartSecondsPerIteration = regions.helperStartSeconds / n
        result.chunksRunByCallerPerIteration = Double(regions.chunksRunByCaller) / n
        if let hostBefore, let hostAfter = HostCPUTime.now() { result.hostStealShare = hostBefore.stealShare(until: hostAfter) }
        return result
    }

    /// One GEMM profiler per convolution or linear layer (`attachGEMMProfilers`).
    struct LayerGEMMProfiler {
        /// The index of the top-level layer it lies in.
        let top: Int
        /// The layer's identity (matched against `LayerTimer.Totals.members`).
        let layer: ObjectIdentifier
        /// Its GEMM time.
        let profiler: GEMMProfiler
    }

    /// Sets `convolution` as every convolution's algorithm and attaches a GEMM profiler to every
    /// convolution and linear layer of `model` at any depth: `shared` to all of them, or with
    /// `shared` nil (profiling) one per layer, returned with its top-level index and identity.
    static func attachGEMMProfilers(_ model: Sequential<Float>, shared: GEMMProfiler?, convolution: ConvolutionAlgorithm,
                                    clock: BenchmarkClock = .wall) -> [LayerGEMMProfiler] {
        var profilers: [LayerGEMMProfiler] = []
        for (index, (_, layer)) in model.layers.enumerated() {
            func wire(_ layer: any Layer<Float>) {
                guard layer is Conv2D<Float> || layer is Linear<Float> else { return }
                let attached = shared ?? GEMMProfiler(clock: clock)
                if shared == nil { profilers.append(LayerGEMMProfiler(top: index, layer: ObjectIdentifier(layer), profiler: attached)) }
                (layer as? Conv2D<Float>)?.gemmObserver = attached
                (layer as? Conv2D<Float>)?.algorithm = convolution
                (layer as? Linear<Float>)?.gemmObserver = attached
            }
            wire(layer)
            layer.visitDescendants { _, child in wire(child) }
        }
        return profilers
    }

    /// The kind of a layer for the per-kind profile: convolutions by kernel shape and the kernel
    /// their last pass ran (`Conv2D pointwise`, `Conv2D pointwise batched` for 1×1 stride 1
    /// unpadded, `Conv2D depthwise 3×3`, `Conv2D 1×1 s2 im2col batched`, `Conv2D 7×7 s2 im2col`,
    /// `Conv2D 3×3 winograd`, …), other layers by type (`kindName`).
    public static func kindLabel(_ layer: any Layer<Float>) -> String {
        guard let conv = layer as? Conv2D<Float> else { return kindName(layer) }
        let k = conv.kernel, s = conv.strides
        let kernel = k.height == k.width ? "\(k.height)×\(k.height)" : "\(k.height)×\(k.width)"
        let stride = s.height == 1 && s.width == 1 ? "" : " s\(s.height == s.width ? "\(s.height)" : "\(s.height)×\(s.width)")"
        let algorithm: String
        switch conv.lastKernel {
        case nil, .depthwise?, .pointwise?: algorithm = ""
        case .pointwiseBatched?: algorithm = " batched"
        case let used?: algorithm = " " + used.rawValue
        }
        if conv.isDepthwise { return "Conv2D depthwise \(kernel)\(stride)" }
        if k.height == 1 && k.width == 1 && stride.isEmpty && conv.padding.isZero {
            return "Conv2D pointwise" + (conv.groups > 1 ? " grouped" : "") + algorithm
        }
        return "Conv2D \(kernel)\(stride)" + (conv.groups > 1 ? " g\(conv.groups)" : "") + algorithm
    }

    /// `Conv2D` for `Conv2D<Float>`: the type name without its generic argument.
    static func kindName(_ layer: any Layer<Float>) -> String {
        let name = String(describing: type(of: layer))
        return name.firstIndex(of: "<").map { String(name[..<$0]) } ?? name
    }
}
