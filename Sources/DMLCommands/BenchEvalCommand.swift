import ArgumentParser
import DMLEvaluation
import DMLNumerics
import Foundation

/// `dml bench eval`: times leave-one-out retrieval and k-means on synthetic SOP-shaped data and
/// prints a Markdown table (the one in docs/evaluation.md).
struct BenchEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Benchmark the evaluation: search, k-means, GEMM ratio and peak memory.",
        discussion: """
            For each size N: one blocked GEMM pass (N × N × d) as the yardstick, then a full \
            leave-one-out evaluation (Recall@K, MAP@R, k-means with K = number of classes, NMI, F1), \
            then k-means with each extra K (--search-only skips k-means). Quick run: --sizes 2000 --clusters 50. Set \
            OPENBLAS_CORETYPE=SkylakeX in the environment on Sapphire Rapids machines.
            """
    )

    @Option(help: "Numbers of items, comma-separated.")
    var sizes: IntegerList = IntegerList([10_000, 60_502])

    @Option(help: "Embedding dimension.")
    var dimension: Int = 512

    @Option(help: "Extra k-means cluster counts, comma-separated (K = number of classes always runs).")
    var clusters: IntegerList = IntegerList([100, 11_316])

    @Option(help: "Recall@K cut-offs, comma-separated.")
    var k: IntegerList = IntegerList(EvaluationOptions.onlineProductsRecallKs)

    @Option(help: "Threads for BLAS and for the per-query selection.")
    var threads: Int = 2

    @Option(help: "k-means iteration cap.")
    var kmeansIterations: Int = KMeansOptions().maxIterations

    @Option(help: "Seed of the synthetic data and of k-means.")
    var seed: UInt64 = 0

    @Flag(help: "Time only the search (no k-means, so --clusters is ignored).")
    var searchOnly = false

    func validate() throws {
        guard dimension >= 1 else { throw ValidationError("--dimension must be positive, got \(dimension)") }
        guard threads >= 1 else { throw ValidationError("--threads must be positive, got \(threads)") }
        guard sizes.values.allSatisfy({ $0 >= 2 }) else { throw ValidationError("--sizes must all be at least 2") }
        guard let largest = k.values.max(), k.values.allSatisfy({ $0 >= 1 }), largest < sizes.values.min()! else {
            throw ValidationError("--k must be positive and smaller than every size")
        }
    }

    func run() throws {
        BLASThreads.set(threads)
        let configuration = EvaluationBenchmark.Configuration(
            sizes: sizes.values, dimension: dimension, extraClusterCounts: clusters.values, recallKs: k.values,
            seed: seed, threads: threads, kMeansIterations: kmeansIterations, clustering: !searchOnly)
        print("BLAS threads \(BLASThreads.current), selection threads \(threads), OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)")")
        print("| stage | N | d | K | seconds | one GEMM pass (s) | ratio | iterations | peak RSS (MiB) | metrics |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        try EvaluationBenchmark.run(configuration) { row in
            func cell(_ value: Double?, _ digits: Int) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? "" }
            print("| \(row.stage) | \(row.items) | \(row.dimension) | \(row.clusters.map(String.init) ?? "") | "
                  + "\(cell(row.seconds, 2)) | \(cell(row.gemmSeconds, 2)) | \(cell(row.gemmRatio, 2)) | "
                  + "\(row.iterations.map(String.init) ?? "") | \(cell(row.peakResidentMiB, 0)) | \(row.metrics) |")
            fflush(nil)
        }
    }
}
