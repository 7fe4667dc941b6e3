import ArgumentParser
import DMLBenchmarks
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
            OPENBLAS_CORETYPE=SkylakeX in the environment on Sapphire Rapids machines. With --faiss, \
            benchmarks/faiss_reference.py (Debian package python3-faiss) then searches the same embeddings \
            with faiss.IndexFlatL2, k = max K + 1, leave-one-out, on the same number of threads.
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

    @Option(help: "Compute threads (default: the machine's cores): the pool that runs the GEMM tiles (single-threaded BLAS) and the selection; faiss's OpenMP threads with --faiss.")
    var threads: Int = ThreadBudget.availableCores

    @Option(help: "k-means iteration cap.")
    var kmeansIterations: Int = KMeansOptions().maxIterations

    @Option(help: "Seed of the synthetic data and of k-means.")
    var seed: UInt64 = 0

    @Flag(help: "Time only the search (no k-means, so --clusters is ignored).")
    var searchOnly = false

    @Option(help: "Queries per GEMM tile of one worker.")
    var tileRows: Int = NeighbourSearchOptions().tileRows

    @Option(help: "References per GEMM tile.")
    var referenceBlock: Int = NeighbourSearchOptions().referenceBlockSize

    @Option(help: "Queries per block (cut into tiles).")
    var queryBlock: Int = NeighbourSearchOptions().queryBlockSize

    @Option(help: "Rows per block of the symmetric leave-one-out search (its GEMM tiles are this square).")
    var symmetricTile: Int = NeighbourSearchOptions().symmetricTileSize

    @Flag(help: "Run leave-one-out searches as searches against a separate reference set (streaming query blocks, every distance computed twice) instead of using the symmetry of the distances.")
    var noSymmetry = false

    @Flag(help: "Also time faiss.IndexFlatL2 on the same embeddings (benchmarks/faiss_reference.py, needs /usr/bin/python3 with faiss).")
    var faiss = false

    func validate() throws {
        guard dimension >= 1 else { throw ValidationError("--dimension must be positive, got \(dimension)") }
        guard threads >= 1 else { throw ValidationError("--threads must be positive, got \(threads)") }
        guard sizes.values.allSatisfy({ $0 >= 2 }) else { throw ValidationError("--sizes must all be at least 2") }
        guard let largest = k.values.max(), k.values.allSatisfy({ $0 >= 1 }), largest < sizes.values.min()! else {
            throw ValidationError("--k must be positive and smaller than every size")
        }
    }

    func run() throws {
        var configuration = EvaluationBenchmark.Configuration(
            sizes: sizes.values, dimension: dimension, extraClusterCounts: clusters.values, recallKs: k.values,
            seed: seed, threads: threads, kMeansIterations: kmeansIterations, clustering: !searchOnly)
        configuration.search = NeighbourSearchOptions(queryBlockSize: queryBlock, referenceBlockSize: referenceBlock, tileRows: tileRows,
                                                      symmetricBufferLimit: noSymmetry ? 0 : NeighbourSearchOptions().symmetricBufferLimit,
                                                      symmetricTileSize: symmetricTile)
        print("compute threads \(threads) (BLAS single-threaded inside them), OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)")")
        print("| stage | N | d | K | seconds | one GEMM pass (s) | ratio | iterations | peak RSS (MiB) | CPU s (all threads) | metrics |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        try EvaluationBenchmark.run(configuration) { row in
            func cell(_ value: Double?, _ digits: Int) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? "" }
            print("| \(row.stage) | \(row.items) | \(row.dimension) | \(row.clusters.map(String.init) ?? "") | "
                  + "\(cell(row.seconds, 2)) | \(cell(row.gemmSeconds, 2)) | \(cell(row.gemmRatio, 2)) | "
                  + "\(row.iterations.map(String.init) ?? "") | \(cell(row.peakResidentMiB, 0)) | \(cell(row.cpuSeconds, 2)) | \(row.metrics) |")
            fflush(nil)
        }
        if faiss { try runFaiss(configuration) }
    }

    /// Writes each size's synthetic embeddings to a temporary .npy file and runs
    /// benchmarks/faiss_reference.py on them.
    func runFaiss(_ configuration: EvaluationBenchmark.Configuration) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dml-bench-faiss-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for n in configuration.sizes {
            let classes = Swift.max(1, Int((Double(n) / configuration.itemsPerClass).rounded()))
            let data = ClusteredEmbeddings(count: n, classes: classes, dimension: configuration.dimension,
                                           spread: configuration.spread, seed: configuration.seed)
            let embeddings = directory + "/embeddings.npy", labels = directory + "/labels.npy"
            try NPYArray(data.embeddings).write(to: embeddings)
            try NPYArray(labels: data.labels).write(to: labels)
            let largest = configuration.recallKs.max() ?? 1
            let systemPython = "/usr/bin/python3"
            let process = Process()
            let useSystem = FileManager.default.fileExists(atPath: systemPython)
            process.executableURL = URL(fileURLWithPath: useSystem ? systemPython : "/usr/bin/env")
            process.arguments = (useSystem ? [] : ["python3"])
                + ["benchmarks/faiss_reference.py", embeddings, labels, "--k", "\(largest)", "--threads", "\(threads)"]
            try process.run()
            process.waitUntilExit()
            if process.terminationStatus != 0 {
                throw ValidationError("benchmarks/faiss_reference.py failed (exit \(process.terminationStatus)); is python3-faiss installed?")
            }
        }
    }
}
