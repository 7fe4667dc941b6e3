import ArgumentParser
import DMLBenchmarks
import Foundation
import DMLNumerics
import DMLNetworks
import DMLTraining
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
    @Option(help: "Compute threads (default: the machine's cores): the pool the layers and Adam run on; also PyTorch's torch.set_num_threads with --torch.")
    var threads = ThreadBudget.availableCores
    @Option(help: "OpenBLAS threads of the GEMMs a layer runs on the calling thread (default 1, as dml train). Set for this command only.")
    var blasThreads = 1
    @Flag(help: "Time every layer's forward and backward pass and print where a step's time goes.") var profile = false
    @Flag(name: .customLong("guard-cost"), help: "Also time the trainer's per-step divergence guard and collapse spread: runs without and with them alternately (A B A B) and prints the ratio.")
    var guardCost = false
    @Flag(help: "Also run benchmarks/torch_reference.py (needs python3 with torch) with the same settings.") var torch = false
    @Option(help: "An ImageNet backbone (efficientnet-lite0, resnet18, resnet50, googlenet) with the 512-d head instead of the Fashion-MNIST CNN.")
    var backbone: BackboneKind?
    @Option(name: .customLong("image-size"), help: "Input side for --backbone.") var imageSize = 224
    @Flag(help: "With --backbone: time the backbone's inference forward pass (evaluation mode, pooled features: what dml features runs) instead of a training step; with --torch, PyTorch's under torch.no_grad(). With --profile: where a batch's time goes, per step and per kind.")
    var inference = false
    @Flag(name: .customLong("unfused"), help: ArgumentHelp("With --inference: run every layer as written, without the fused convolution + batch norm + activation steps (Sequential.useInferenceFusion(false)), for comparison.", visibility: .hidden))
    var unfused = false
    @Option(help: ArgumentHelp("Conv2D.algorithm of every convolution: perSample, batched, im2col (batched or per sample by layer shape), winograd (Winograd F(2×2, 3×3) for every 3×3 stride-1 layer) or automatic (the default).", visibility: .hidden))
    var convolution = ConvolutionAlgorithm.automatic
    @Option(name: .customLong("scaling-rounds"), help: "Small CNN: this many rounds of a run at 1 thread, one at --threads and --threads independent 1-thread runs at once (the machine's own scaling), each run's images/s and host steal, and the medians of the rounds' ratios (the 2-thread target's measure).")
    var scalingRounds: Int?
    @Option(name: .customLong("pool-spin"), help: ArgumentHelp("Microseconds the pool's idle threads poll for the next parallel region before blocking (ThreadPool.spinDuration; 0: block at once).", visibility: .hidden))
    var poolSpin = ThreadPool.defaultSpinDuration * 1e6

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
                                               embeddingDimension: embeddingSize, threads: threads).secondsPerIteration)
            guarded.append(TrainingBenchmark.run(batchSize: batchSize, iterations: iterations, warmup: warmup,
                                                 embeddingDimension: embeddingSize, threads: threads) { model, embeddings in
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

    public func validate() throws {
        if let backbone, !backbone.isImageNetArchitecture {
            throw ValidationError("--backbone must be efficientnet-lite0, resnet18, resnet50 or googlenet (without it: the Fashion-MNIST CNN)")
        }
        guard imageSize >= 32, batchSize >= 2, iterations >= 1 else {
            throw ValidationError("--image-size must be at least 32, --batch-size 2 and --iterations 1")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if blasThreads < 1 { throw ValidationError("--blas-threads must be at least 1, got \(blasThreads)") }
        guard poolSpin >= 0, poolSpin.isFinite else { throw ValidationError("--pool-spin must be a non-negative number of microseconds, got \(poolSpin)") }
        if inference && (backbone == nil || guardCost) {
            throw ValidationError("--inference needs --backbone and goes without --guard-cost")
        }
        if unfused && !inference { throw ValidationError("--unfused goes with --inference") }
        if let scalingRounds {
            guard scalingRounds >= 1 else { throw ValidationError("--scaling-rounds must be at least 1, got \(scalingRounds)") }
            guard threads > 1, backbone == nil, !profile, !guardCost, !torch else {
                throw ValidationError("--scaling-rounds compares the small CNN at 1 thread and at --threads > 1, without --backbone, --profile, --guard-cost or --torch")
            }
        }
    }

    /// `rounds` rounds of the small CNN at 1 thread, at `threads`, and as `threads` independent
    /// 1-thread runs at once (`TrainingBenchmark.runIndependent`, their images/s added: the
    /// machine's own scaling in that round), each printed; then the medians of the rounds'
    /// ratios `threads`/1, independent/1 and `threads`/independent (the share of the machine's
    /// parallel capacity the pooled run reaches, which the host's noise moves far less than the
    /// plain ratio).
    func printScaling(rounds: Int) {
        var ratios = [Double](), machine = [Double](), efficiency = [Double]()
        print("| round | 1 thread images/s | \(threads) threads images/s | \(threads) × 1 thread, independent | "
              + "\(threads) threads / 1 | independent / 1 | \(threads) threads / independent | host steal (1 / \(threads) / independent) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        func steal(_ r: TrainingBenchmarkResult) -> String { r.hostStealShare.map { String(format: "%.1f %%", $0 * 100) } ?? "–" }
        for round in 1...rounds {
            let results = [1, threads].map { t in
                BLASThreads.with(blasThreads) {
                    TrainingBenchmark.run(batchSize: batchSize, iterations: iterations, warmup: warmup, embeddingDimension: embeddingSize,
                                          convolution: convolution, threads: t, poolSpin: poolSpin * 1e-6)
                }
            }
            let independent = BLASThreads.with(1) {
                TrainingBenchmark.runIndependent(copies: threads, batchSize: batchSize, iterations: iterations, warmup: warmup,
                                                 embeddingDimension: embeddingSize, convolution: convolution, poolSpin: poolSpin * 1e-6)
            }
            let one = results[0].imagesPerSecond, pooled = results[1].imagesPerSecond
            let together = independent.reduce(0) { $0 + $1.imagesPerSecond }
            ratios.append(pooled / one)
            machine.append(together / one)
            efficiency.append(pooled / together)
            print(String(format: "| %d | %.0f | %.0f | %.0f | %.2f× | %.2f× | %.2f | ", round, one, pooled, together,
                         pooled / one, together / one, pooled / together)
                  + "\(steal(results[0])) / \(steal(results[1])) / \(steal(independent[0])) |")
        }
        func summary(_ values: [Double]) -> String {
            let sorted = values.sorted(), n = sorted.count
            let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
            return String(format: "%.2f–%.2f, median %.2f", sorted.first!, sorted.last!, median)
        }
        print("\(threads) threads / 1 thread: \(summary(ratios))× over \(rounds) rounds")
        print("\(threads) independent 1-thread runs / 1 thread (the machine): \(summary(machine))×")
        print("\(threads) threads / \(threads) independent runs: \(summary(efficiency))")
    }

    public func run() throws {
        if let scalingRounds {
            printScaling(rounds: scalingRounds)
            return
        }
        let blas = blasThreads
        let coreType = "(OpenBLAS threads \(blas), OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)"))"
        let result: TrainingBenchmarkResult
        if let backbone {
            // The training step of `dml train --backbone`: random weights (speed does not depend on them).
            let network: Sequential<Float> = try Backbones.make(backbone, imageSize: imageSize, seed: 1)
            network.visitDescendants { _, layer in (layer as? Conv2D<Float>)?.algorithm = convolution }
            if inference {
                network.useInferenceFusion(!unfused)
                let timed = BLASThreads.with(blas) {
                    InferenceBenchmark.run(model: network, input: TensorShape(channels: 3, height: imageSize, width: imageSize),
                                           batchSize: batchSize, iterations: iterations, warmup: warmup, convolution: convolution,
                                           threads: threads, poolSpin: poolSpin * 1e-6, profile: profile)
                }
                func rate(_ s: Double) -> Int { Int((Double(batchSize) / s).rounded()) }
                print("SwiftMetricLearning \(backbone.rawValue) inference at \(imageSize) px\(unfused ? " (unfused)" : ""): batch \(batchSize), "
                      + "\(threads) thread(s): \(rate(timed.secondsPerBatch)) images/s (\(rate(timed.cpuSecondsPerBatch)) per CPU second of "
                      + "the calling thread, \(rate(timed.processCPUSecondsPerBatch)) per CPU second of all threads), "
                      + String(format: "%.1f ms/batch (%.1f CPU ms of the calling thread)", timed.secondsPerBatch * 1000,
                               timed.cpuSecondsPerBatch * 1000)
                      + (threads > 1 ? String(format: ", %.0f pool regions/batch, caller at their barriers %.2f ms/batch",
                                              timed.poolRegionsPerBatch, timed.barrierSecondsPerBatch * 1000) : "")
                      + " " + coreType)
                if let profile = timed.profile { print(Self.table(profile)) }
                try runTorch()
                return
            }
            let model = Backbones.embeddingNetwork(backbone: network, featureDimension: backbone.featureDimension!,
                                                   embeddingDimension: embeddingSize, seed: 1)
            model.computesInputGradient = false
            result = BLASThreads.with(blas) {
                TrainingBenchmark.run(model: model, input: TensorShape(channels: 3, height: imageSize, width: imageSize),
                                      batchSize: batchSize, iterations: iterations, warmup: warmup,
                                      convolution: convolution, threads: threads, poolSpin: poolSpin * 1e-6, profile: profile)
            }
            print("SwiftMetricLearning \(backbone.rawValue) at \(imageSize) px: \(result) \(coreType)")
        } else {
            result = BLASThreads.with(blas) {
                TrainingBenchmark.run(batchSize: batchSize, iterations: iterations, warmup: warmup,
                                      embeddingDimension: embeddingSize, convolution: convolution, threads: threads,
                                      poolSpin: poolSpin * 1e-6, profile: profile)
            }
            print("SwiftMetricLearning: \(result) \(coreType)")
        }
        if let profile = result.profile { print(Self.table(profile)) }
        if guardCost { BLASThreads.with(blas) { printGuardCost() } }
        try runTorch()
    }

    /// With `--torch`, runs benchmarks/torch_reference.py with the same settings.
    func runTorch() throws {
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
            + (inference ? ["--inference"] : [])
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw ValidationError("benchmarks/torch_reference.py failed (exit \(process.terminationStatus)); is python3-torch installed?")
        }
    }

    /// The profile as two Markdown tables: per layer, then per category.
    static func table(_ profile: TrainingProfile) -> String {
        func ms(_ s: Double) -> String { String(format: "%.2f", s * 1000) }
        func share(_ s: Double) -> String { String(format: "%.1f %%", 100 * s / max(profile.step, 1e-12)) }
        var lines = ["", "| layer | kind | forward ms | backward ms | GEMM ms | other ms (category) | share of step |",
                     "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for layer in profile.layers {
            let total = layer.forward + layer.backward
            lines.append("| \(layer.name) | \(layer.kind) | \(ms(layer.forward)) | \(ms(layer.backward)) | \(ms(layer.gemm)) | "
                         + "\(ms(total - layer.gemm)) (\(layer.category)) | \(share(total)) |")
        }
        if !profile.kinds.isEmpty {
            lines += ["", "| layer kind | layers | forward ms | backward ms | GEMM ms | other ms | share of step |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for kind in profile.kinds {
                let total = kind.forward + kind.backward
                lines.append("| \(kind.kind) | \(kind.count) | \(ms(kind.forward)) | \(ms(kind.backward)) | \(ms(kind.gemm)) | "
                             + "\(ms(total - kind.gemm)) | \(share(total)) |")
            }
            let leaves = profile.kinds.reduce(0) { $0 + $1.forward + $1.backward }
            let layers = profile.layers.reduce(0) { $0 + $1.forward + $1.backward }
            lines.append("| containers (residual sums, concatenation) | | | | | \(ms(layers - leaves)) | \(share(layers - leaves)) |")
        }
        lines += ["", "| part of the step | ms | share |", "| --- | ---: | ---: |"]
        for (name, seconds) in profile.categories { lines.append("| \(name) | \(ms(seconds)) | \(share(seconds)) |") }
        lines.append("| step | \(ms(profile.step)) | 100 % |")
        return lines.joined(separator: "\n")
    }

    /// An inference profile as two Markdown tables: per top-level step, then per kind.
    static func table(_ profile: InferenceProfile) -> String {
        func ms(_ s: Double) -> String { String(format: "%.2f", s * 1000) }
        func share(_ s: Double) -> String { String(format: "%.1f %%", 100 * s / max(profile.batch, 1e-12)) }
        var lines = ["", "Milliseconds of " + (profile.clock == .threadCPU ? "the calling thread's CPU time" : "wall-clock time") + " per batch.",
                     "", "| step | forward ms | GEMM ms | other ms | share of batch |", "| --- | ---: | ---: | ---: | ---: |"]
        for step in profile.steps {
            lines.append("| \(step.name) | \(ms(step.forward)) | \(ms(step.gemm)) | \(ms(step.forward - step.gemm)) | \(share(step.forward)) |")
        }
        lines += ["", "| layer kind (fused steps joined by +) | passes | forward ms | GEMM ms | other ms | share of batch |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for kind in profile.kinds {
            lines.append("| \(kind.kind) | \(kind.count) | \(ms(kind.forward)) | \(ms(kind.gemm)) | \(ms(kind.forward - kind.gemm)) | "
                         + "\(share(kind.forward)) |")
        }
        let leaves = profile.kinds.reduce(0) { $0 + $1.forward }, steps = profile.steps.reduce(0) { $0 + $1.forward }
        lines.append("| containers (residual sums, concatenation) | | | | \(ms(steps - leaves)) | \(share(steps - leaves)) |")
        lines.append("| unaccounted | | | | \(ms(profile.batch - steps)) | \(share(profile.batch - steps)) |")
        lines.append("| batch | | \(ms(profile.batch)) | | | 100 % |")
        return lines.joined(separator: "\n")
    }
}

extension ConvolutionAlgorithm: ExpressibleByArgument {}
