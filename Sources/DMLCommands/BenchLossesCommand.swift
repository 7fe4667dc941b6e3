import ArgumentParser
import DMLBenchmarks
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwiftMetricLearning

/// `dml bench losses`: the time of one loss evaluation (value + gradient, Float) for every loss
/// in every mode, next to the time of one GEMM forming the Gram matrix of the same augmented
/// point set, measured interleaved in the same run, and their ratio.
///
/// Batches are C×K class-balanced sets of L2-normalized embeddings (class centres plus noise),
/// d = 512: 64×2 and 32×4 for B = 128, 256×2 and 128×4 for B = 512. Prints a Markdown table.
///
/// `--threads T` is the thread count of both sides: the loss runs on a `ThreadPool` of `T`
/// threads (`LossConfiguration.evaluate(_:labels:memory:pool:)`), the baseline GEMM with `T`
/// OpenBLAS threads. With `T > 1` the times are wall-clock times (the calling thread's CPU
/// clock would leave out the other workers), and `OPENBLAS_THREAD_TIMEOUT=4` belongs in the
/// environment (see `environmentNote`). With `--memory N` the table adds the ratio to two
/// GEMMs — the forward `P·Mᵀ` and the backward `W·M` of the same size, the flop floor of a loss
/// whose gradient reaches every memory column.
public struct BenchLossesCommand: ParsableCommand {
    /// The command's name, abstract and help text.
    public static let configuration = CommandConfiguration(
        commandName: "losses",
        abstract: "Time every loss × mode against one Gram GEMM of its augmented point set (Float)."
    )

    @Option(help: "Timed repetitions per cell (the median is reported).")
    var repeats = 21

    @Option(help: "Threads: the loss's thread pool and the OpenBLAS threads of the baseline GEMM (above 1 the times are wall-clock).")
    var threads = 1

    @Option(help: "Embedding dimension d.")
    var dimension = 512

    @Option(name: .customLong("batch-sizes"), parsing: .upToNextOption, help: "Batch sizes B (each run as B/2 × 2 and B/4 × 4).")
    var batchSizes = [128, 512]

    @Option(parsing: .upToNextOption, help: "Losses to time (default: all).")
    var losses: [LossKind] = LossKind.allCases

    @Option(parsing: .upToNextOption, help: "Modes to time: plain, hnpm, hnpm+ee, hnpm+symm (default: all).")
    var modes: [String] = BenchLossesCommand.modes.map(\.name)

    @Flag(name: .customLong("no-allocator-tuning"), help: "Keep glibc's default mmap and trim thresholds (see AllocatorTuning).")
    var noAllocatorTuning = false

    @Flag(help: "Time with the wall clock instead of the calling thread's CPU clock (with one BLAS thread all the work runs on the calling thread; its CPU time ignores the time the process waits for a core on a loaded machine).")
    var wallClock = false

    @Option(help: "Cross-batch memory size N (0: none): every loss also gets N memory points (C×K embeddings of another seed), and the GEMM is the augmented set × (itself + memory).")
    var memory = 0

    @Option(name: .customLong("memory-classes"),
            help: "With --memory N: the number of classes of the memory points (0: N/K, K points per class like the batch). Fewer classes make the HNPM gradient on the memory sparser (one entry per mining set and class).")
    var memoryClasses = 0

    @Option(name: .customLong("negative-classes"),
            help: "HNPM modes: keep this many random negative classes per mining set (0: all); adds a column with the cosine between the sampled and the full gradient (mean of 5 draws).")
    var negativeClasses = 0

    @Flag(name: .customLong("memory-synthesis"), help: "EE / Symm modes also synthesize points from the memory's same-class pairs (the GEMM then covers them too).")
    var memorySynthesis = false

    @Option(help: "Seed of the synthetic embeddings.")
    var seed: UInt64 = 1

    /// A command with every option at its default (ArgumentParser fills the options in).
    public init() {}

    /// Checks the options after parsing (ArgumentParser calls it before `run`).
    public func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard dimension >= 1 else { throw ValidationError("--dimension must be at least 1") }
        guard memory >= 0 else { throw ValidationError("--memory must be at least 0") }
        guard memoryClasses >= 0, memoryClasses <= max(memory, 0) else {
            throw ValidationError("--memory-classes must be between 0 and the memory size")
        }
        guard negativeClasses >= 0 else { throw ValidationError("--negative-classes must be at least 0") }
        guard !memorySynthesis || memory > 0 else { throw ValidationError("--memory-synthesis needs --memory N") }
        let known = Self.modes.map(\.name)
        if let unknown = modes.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown mode '\(unknown)'; expected one of \(known.joined(separator: ", "))")
        }
        guard batchSizes.allSatisfy({ $0 >= 8 && $0 % 4 == 0 }) else {
            throw ValidationError("--batch-sizes must be multiples of 4, at least 8")
        }
    }

    /// The four modes of every loss.
    static let modes: [(name: String, mining: MiningMode, synthesis: SynthesisKind)] = [
        ("plain", .plain, .none), ("hnpm", .hnpm, .none), ("hnpm+ee", .hnpm, .ee), ("hnpm+symm", .hnpm, .symm),
    ]

    /// One measured cell.
    struct Row {
        let batch: Int, classes: Int, perClass: Int
        let loss: LossKind, mode: String
        let points: Int
        let lossSeconds: Double, gemmSeconds: Double
        let memory: Int
        /// The mean cosine between the sampled and the full gradient (with `--negative-classes`).
        var gradientCosine: Double? = nil
        /// The ratio target of §5 of the task: plain ≤ 3×, HNPM with synthesis ≤ 4× (B = 128
        /// only); with a memory, 2× the batch × (batch + memory) GEMM.
        var target: Double? {
            if memory > 0 { return 2 }
            guard batch == 128 else { return nil }
            switch mode {
            case "plain": return 3
            case "hnpm+ee", "hnpm+symm": return 4
            default: return nil
            }
        }
        var ratio: Double { lossSeconds / gemmSeconds }
        /// The ratio to the flop floor with a memory: two GEMMs (forward and backward).
        var floorRatio: Double { lossSeconds / (2 * gemmSeconds) }
    }

    /// Whether the times are wall-clock times: asked for, or forced by a pool of more than one
    /// thread (the calling thread's CPU clock would leave out the other workers).
    var usesWallClock: Bool { wallClock || threads > 1 }

    /// Runs the command: prints its result on stdout; errors go to stderr with a non-zero exit.
    public func run() throws {
        BLASThreads.set(threads)
        let tuned = !noAllocatorTuning && AllocatorTuning.keepLargeBlocksInTheHeap()
        print(environmentNote(allocatorTuned: tuned))
        print()
        let quality = negativeClasses > 0 ? " grad cos (sampled vs all) |" : ""
        let floor = memory > 0 ? " vs 2 GEMMs |" : ""
        print("| B | layout | loss | mode | points\(memory > 0 ? " + memory" : "") | loss+grad (ms) | Gram GEMM (ms) | ratio |\(floor) target |\(quality)")
        print("|---:|---|---|---|---:|---:|---:|---:|\(memory > 0 ? "---:|" : "")---|\(negativeClasses > 0 ? "---:|" : "")")
        let pool = threads > 1 ? ThreadPool(threads: threads) : nil
        try measureAll(pool: pool) { print(format($0)) }
    }

    /// Measures every configured batch size, layout (`K` = 2 and 4), loss and mode, in table
    /// order, handing each row to `emit` as soon as it is measured.
    func measureAll(pool: ThreadPool? = nil, _ emit: (Row) -> Void) throws {
        for batch in batchSizes {
            for perClass in [2, 4] {
                let classes = batch / perClass
                let (x, labels) = Self.embeddings(classes: classes, perClass: perClass, dimension: dimension, seed: seed)
                let bank: MemoryPoints<Float>? = memory == 0 ? nil : try {
                    let memoryPerClass = memoryClasses > 0 ? (memory + memoryClasses - 1) / memoryClasses : perClass
                    let (m, y) = Self.embeddings(classes: (memory + memoryPerClass - 1) / memoryPerClass, perClass: memoryPerClass,
                                                 dimension: dimension, seed: seed &+ 1)
                    return try MemoryPoints(embeddings: m.gatheringRows(Array(0..<memory)), labels: Array(y.prefix(memory)))
                }()
                for kind in losses {
                    for mode in Self.modes where modes.contains(mode.name) {
                        var configuration = LossConfiguration(kind: kind, mining: mode.mining, synthesis: mode.synthesis)
                        configuration.memorySynthesis = memorySynthesis && mode.synthesis != .none
                        if mode.mining == .hnpm { configuration.negativeClasses = negativeClasses }
                        var row = try measure(configuration, x: x, labels: labels, memory: bank, mode: mode.name,
                                              classes: classes, perClass: perClass, pool: pool)
                        if configuration.negativeClasses > 0 {
                            row.gradientCosine = try Self.gradientCosine(configuration, x: x, labels: labels, memory: bank)
                        }
                        emit(row)
                    }
                }
            }
        }
    }

    /// Times `configuration.evaluate` and the Gram GEMM of its augmented set (against itself and
    /// the memory) alternately (`BenchmarkClock.alternating`: one warm-up call of each, then
    /// `repeats` pairs GEMM, loss; medians).
    private func measure(_ configuration: LossConfiguration, x: Matrix<Float>, labels: [Int], memory bank: MemoryPoints<Float>?,
                         mode: String, classes: Int, perClass: Int, pool: ThreadPool?) throws -> Row {
        let points = configuration.mining == .hnpm
            ? try configuration.synthesisPlugin.augment(x, labels: labels).points : x
        let referenceBank = try bank.map { try configuration.synthesizedMemory($0) }
        let references = referenceBank.map { Matrix(rows: points.rows + $0.count, columns: points.columns,
                                                    elements: points.elements + $0.embeddings.elements) } ?? points
        var gram = Matrix<Float>(rows: points.rows, columns: references.rows)
        var sink: Float = 0
        let clock: BenchmarkClock = usesWallClock ? .wall : .threadCPU
        let (gemmSeconds, lossSeconds) = try clock.alternating(rounds: repeats, {
            Matrix.gemm(points, references, transB: .transpose, into: &gram)
        }, {
            sink += try configuration.evaluate(x, labels: labels, memory: bank, pool: pool).value
        })
        precondition(sink.isFinite, "the loss must be finite")
        return Row(batch: x.rows, classes: classes, perClass: perClass, loss: configuration.kind, mode: mode,
                   points: points.rows, lossSeconds: lossSeconds, gemmSeconds: gemmSeconds,
                   memory: referenceBank?.count ?? 0)
    }

    /// The mean over 5 draws (sampling seeds 0…4) of `cos(∇L_sampled, ∇L_all)`: how well the
    /// gradient with sampled negative classes points where the full one does.
    static func gradientCosine(_ configuration: LossConfiguration, x: Matrix<Float>, labels: [Int],
                               memory: MemoryPoints<Float>?) throws -> Double {
        var full = configuration
        full.negativeClasses = 0
        let reference = try full.evaluate(x, labels: labels, memory: memory).gradient.elements.map(Double.init)
        var total = 0.0
        for draw in UInt64(0)..<5 {
            var sampled = configuration
            sampled.samplingSeed = draw
            let g = try sampled.evaluate(x, labels: labels, memory: memory).gradient.elements.map(Double.init)
            var dot = 0.0, a = 0.0, b = 0.0
            for k in 0..<g.count {
                dot += g[k] * reference[k]
                a += g[k] * g[k]
                b += reference[k] * reference[k]
            }
            total += a > 0 && b > 0 ? dot / (a * b).squareRoot() : 0
        }
        return total / 5
    }

    /// The settings that change the numbers: threads, BLAS kernels, OpenBLAS's idle-thread
    /// timeout, the clock, the vector exp, and glibc's allocator thresholds (see
    /// `AllocatorTuning`). With more than one thread and `OPENBLAS_THREAD_TIMEOUT` unset it adds a
    /// warning: after each baseline GEMM on `T` OpenBLAS threads, OpenBLAS's helper threads poll
    /// for new work for up to 2²⁸ cycles (about 0.1 s), i.e. through the loss that is timed next,
    /// and take cores from the loss's own pool (measured: about a fifth of the process's CPU
    /// samples at `--threads 2`, almost none with `OPENBLAS_THREAD_TIMEOUT=4`). OpenBLAS reads
    /// the variable when it loads, so it must be set before the process starts.
    func environmentNote(allocatorTuned: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let keys = ["OPENBLAS_CORETYPE", "OPENBLAS_THREAD_TIMEOUT", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"]
        let settings = keys.map { "\($0)=\(environment[$0] ?? "(unset)")" }
        let warning = threads > 1 && environment["OPENBLAS_THREAD_TIMEOUT"] == nil
            ? "\nwarning: OPENBLAS_THREAD_TIMEOUT is unset: OpenBLAS's idle threads keep polling after the \(threads)-thread baseline GEMM "
              + "and take cores from the loss's pool; for --threads > 1 run with OPENBLAS_THREAD_TIMEOUT=4"
            : ""
        return "threads: \(threads) (loss pool and baseline BLAS); clock: \(usesWallClock ? "wall" : "thread CPU time"); "
            + "vector exp: \(VectorMath.variant); "
            + "large blocks kept in the heap (mallopt): \(allocatorTuned ? "yes" : "no"); " + settings.joined(separator: ", ") + warning
    }

    private func format(_ row: Row) -> String {
        let check = row.target.map { row.ratio <= $0 ? "≤ \(Int($0))× ✓" : "≤ \(Int($0))× ✗" } ?? ""
        let points = row.memory > 0 ? "\(row.points) + \(row.memory)" : "\(row.points)"
        return "| \(row.batch) | \(row.classes)×\(row.perClass) | \(row.loss.rawValue) | \(row.mode) | \(points) | "
            + String(format: "%.3f | %.3f | %.2f", row.lossSeconds * 1e3, row.gemmSeconds * 1e3, row.ratio)
            + (row.memory > 0 ? String(format: " | %.2f", row.floorRatio) : "") + " | \(check) |"
            + (row.gradientCosine.map { String(format: " %.4f |", $0) } ?? (negativeClasses > 0 ? "  |" : ""))
    }

    /// C×K L2-normalized embeddings: a random unit centre per class plus Gaussian noise
    /// (σ = 0.5/√d per coordinate), then normalized — a spread like a partly trained network's.
    static func embeddings(classes: Int, perClass: Int, dimension d: Int, seed: UInt64) -> (Matrix<Float>, [Int]) {
        var rng = SeededGenerator(seed: seed)
        let centres: Matrix<Double> = rng.normalMatrix(rows: classes, columns: d)
        var x = Matrix<Float>(rows: classes * perClass, columns: d)
        var labels = [Int]()
        for c in 0..<classes {
            for _ in 0..<perClass {
                let i = labels.count
                labels.append(c)
                var row = (0..<d).map { centres[c, $0] / Double(d).squareRoot() + 0.5 / Double(d).squareRoot() * rng.nextNormal() }
                let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                row = row.map { $0 / norm }
                for j in 0..<d { x[i, j] = Float(row[j]) }
            }
        }
        return (x, labels)
    }
}
