import DMLNumerics
import DMLEvaluation
import Foundation

/// The scale benchmark behind `dml bench eval`: leave-one-out retrieval and k-means on
/// synthetic SOP-shaped data (`ClusteredEmbeddings`), timed against the bare GEMM work of the
/// same blocking, with the peak resident memory of each stage.
public enum EvaluationBenchmark {
    /// What to run.
    public struct Configuration: Sendable {
        /// Numbers of items (60,502 is the Stanford Online Products test set).
        public var sizes: [Int]
        /// Embedding dimension.
        public var dimension: Int
        /// Average items per class (SOP test: 60,502 / 11,316 ≈ 5.35); the full evaluation
        /// clusters with K = the number of classes.
        public var itemsPerClass: Double
        /// Further k-means runs with these K (skipped when K ≥ the number of items).
        public var extraClusterCounts: [Int]
        /// Recall@K cut-offs.
        public var recallKs: [Int]
        /// Noise of the synthetic data (see `ClusteredEmbeddings`).
        public var spread: Double
        /// Data and k-means seed.
        public var seed: UInt64
        /// Compute threads: the size of the pool the benchmark creates (BLAS runs single-threaded
        /// inside its workers).
        public var threads: Int
        /// k-means iteration cap.
        public var kMeansIterations: Int
        /// Neighbour-search blocking (its `threads` is replaced by `threads`).
        public var search = NeighbourSearchOptions()
        /// Whether to run k-means (the full evaluation and the extra K); `false` times only the search.
        public var clustering: Bool

        /// Defaults: N ∈ {10,000, 60,502}, d = 512, SOP class sizes, extra K = 100,
        /// Recall@{1, 10, 100, 1000}, 2 threads, 100 k-means iterations at most, with k-means.
        public init(sizes: [Int] = [10_000, 60_502], dimension: Int = 512, itemsPerClass: Double = 60_502.0 / 11_316.0,
                    extraClusterCounts: [Int] = [100], recallKs: [Int] = EvaluationOptions.onlineProductsRecallKs,
                    spread: Double = 2.5, seed: UInt64 = 0, threads: Int = 2, kMeansIterations: Int = 100,
                    clustering: Bool = true) {
            self.sizes = sizes
            self.dimension = dimension
            self.itemsPerClass = itemsPerClass
            self.extraClusterCounts = extraClusterCounts
            self.recallKs = recallKs
            self.spread = spread
            self.seed = seed
            self.threads = threads
            self.kMeansIterations = kMeansIterations
            self.clustering = clustering
        }
    }

    /// One measured stage.
    public struct Row: Sendable, Codable, Equatable {
        /// `search`, `k-means` or `full evaluation`.
        public var stage: String
        /// Items N.
        public var items: Int
        /// Dimension d.
        public var dimension: Int
        /// k-means K, for clustering stages.
        public var clusters: Int?
        /// Wall-clock seconds of the stage.
        public var seconds: Double
        /// Seconds of one blocked GEMM pass with the stage's shapes (`N × N × d` for the search,
        /// `N × K × d` for k-means), measured in the same run.
        public var gemmSeconds: Double?
        /// Peak resident memory during the stage, MiB (`VmHWM`, reset before the stage).
        public var peakResidentMiB: Double?
        /// k-means assignment steps, for clustering stages.
        public var iterations: Int?
        /// The metrics computed, for the record.
        public var metrics: String
        /// CPU seconds of the whole process (all threads) during the stage, for the full
        /// evaluation: on a shared machine steadier than `seconds`, and `cpuSeconds / seconds` is
        /// the number of cores the stage kept busy.
        public var cpuSeconds: Double? = nil

        /// `seconds / gemmSeconds`.
        public var gemmRatio: Double? { gemmSeconds.map { seconds / $0 } }
    }

    /// Runs every stage for every size and hands each row to `report` as soon as it is measured.
    public static func run(_ configuration: Configuration, report: (Row) -> Void) throws {
        for n in configuration.sizes {
            let classes = Swift.max(1, Int((Double(n) / configuration.itemsPerClass).rounded()))
            let data = ClusteredEmbeddings(count: n, classes: classes, dimension: configuration.dimension,
                                           spread: configuration.spread, seed: configuration.seed)
            var options = EvaluationOptions(recallKs: configuration.recallKs, clustering: configuration.clustering)
            options.kMeans = KMeansOptions(seed: configuration.seed, maxIterations: configuration.kMeansIterations,
                                           threads: configuration.threads)
            options.search = configuration.search
            options.search.threads = configuration.threads
            let pool = ThreadPool(threads: configuration.threads)
            let searchGEMM = try gemmPassSeconds(data.embeddings, references: nil, options: options.search, pool: pool)
            let clusterGEMM = configuration.clustering
                ? try gemmPassSeconds(data.embeddings, references: classes, options: options.search,
                                      blockSize: options.kMeans.pointBlockSize, pool: pool)
                : nil

            ProcessMemory.resetPeak()
            let start = DispatchTime.now()
            let cpuStart = BenchmarkClock.processCPU.now()
            let result = try evaluate(embeddings: data.embeddings, labels: data.labels, options: options, pool: pool)
            let total = Evaluation.seconds(since: start)
            let cpu = BenchmarkClock.processCPU.now() - cpuStart
            let peak = peakMiB()
            let recalls = result.retrieval.recallAtK.map { "R@\($0.k) \(format($0.value))" }.joined(separator: ", ")
            let d = configuration.dimension
            report(Row(stage: "search", items: n, dimension: d, seconds: result.searchSeconds, gemmSeconds: searchGEMM,
                       metrics: "\(recalls), MAP@R \(format(result.retrieval.mapAtR)), RP \(format(result.retrieval.rPrecision))"))
            guard configuration.clustering else {
                report(Row(stage: "full evaluation", items: n, dimension: d, seconds: total, peakResidentMiB: peak,
                           metrics: "search only", cpuSeconds: cpu))
                continue
            }
            report(Row(stage: "k-means", items: n, dimension: d, clusters: classes, seconds: result.clusteringSeconds,
                       gemmSeconds: clusterGEMM, iterations: result.kMeansIterations,
                       metrics: "NMI \(format(result.clustering?.nmi ?? .nan)), F1 \(format(result.clustering?.f1 ?? .nan))"))
            report(Row(stage: "full evaluation", items: n, dimension: d, clusters: classes, seconds: total,
                       peakResidentMiB: peak, metrics: "search + k-means + NMI + F1", cpuSeconds: cpu))

            for k in configuration.extraClusterCounts where k < n && k != classes {
                let gemm = try gemmPassSeconds(data.embeddings, references: k, options: options.search,
                                               blockSize: options.kMeans.pointBlockSize, pool: pool)
                ProcessMemory.resetPeak()
                let start = DispatchTime.now()
                let kMeans = try KMeans.run(data.embeddings, clusters: k, options: options.kMeans, pool: pool)
                let scores = try ClusteringScores.compute(clusters: kMeans.assignments, classes: data.labels)
                report(Row(stage: "k-means", items: n, dimension: d, clusters: k, seconds: Evaluation.seconds(since: start),
                           gemmSeconds: gemm, peakResidentMiB: peakMiB(), iterations: kMeans.iterations,
                           metrics: "NMI \(format(scores.nmi)), F1 \(format(scores.f1))"))
            }
        }
    }

    /// Seconds of the blocked GEMM tiles of a search of `points` against themselves
    /// (`references == nil`) or against their first `references` rows (the k-means shape), on
    /// the workers of `pool` with the tiles the search (or k-means) uses.
    static func gemmPassSeconds(_ points: Matrix<Float>, references: Int?, options: NeighbourSearchOptions,
                                blockSize: Int? = nil, pool: ThreadPool) throws -> Double {
        var options = options
        if let blockSize { options.queryBlockSize = blockSize }
        let referenceMatrix = references.map { points.gatheringRows(Array(0..<$0)) }
        if let references {
            options.referenceBlockSize = references
            options.queryBlockSize = SquaredDistanceBlocks<Float>.blockRows(blockSize: options.queryBlockSize, centres: references)
        }
        let search = try BlockedNeighbourSearch(queries: points, references: referenceMatrix, k: 1, options: options)
        let start = DispatchTime.now()
        let checksum = search.gemmPass(pool: pool)
        let seconds = Evaluation.seconds(since: start)
        return checksum.isNaN ? .nan : seconds
    }

    private static func peakMiB() -> Double? {
        ProcessMemory.peakResidentBytes().map { Double($0) / 1_048_576 }
    }

    private static func format(_ value: Double) -> String {
        String(format: "%.4f", value)
    }
}
