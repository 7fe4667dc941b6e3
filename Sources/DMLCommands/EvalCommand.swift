import ArgumentParser
import DMLEvaluation
import DMLNumerics
import Foundation

/// `dml eval`: Recall@K, MAP@R, R-precision, NMI and F1 of saved embeddings, printed as one JSON
/// object (the keys of the `eval` records of log.jsonl).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate embeddings: Recall@K, MAP@R, R-precision, NMI and F1 (and the k-means objective) as one JSON object.",
        discussion: """
            Without --query-embeddings every row is a query against all other rows (leave-one-out). \
            With them, each query row is ranked against the rows of --embeddings, and k-means runs on \
            the queries. Queries with no other item of their class are left out of the retrieval \
            averages (counted in "excluded_queries"). Errors go to stderr with a non-zero exit status, \
            and then nothing is written.
            """
    )

    @Option(help: "Reference (and, without query files, query) embeddings: .npy, float32 or float64, N × d.")
    var embeddings: String

    @Option(help: "Labels of --embeddings: .npy, integers, N.")
    var labels: String

    @Option(help: "Separate query embeddings: .npy, M × d.")
    var queryEmbeddings: String?

    @Option(help: "Labels of --query-embeddings: .npy, M.")
    var queryLabels: String?

    @Option(help: "Distance for retrieval: euclidean or cosine.")
    var metric: DistanceMetric = .euclidean

    @Option(help: "Recall@K cut-offs, comma-separated (Stanford Online Products: 1,10,100,1000).")
    var k: IntegerList = IntegerList(EvaluationOptions.standardRecallKs)

    @Option(help: "Write the k-means cluster of every clustered row here (.npy, int64).")
    var clustersOut: String?

    @Option(help: "Seed of the k-means++ seeding.")
    var seed: UInt64 = 0

    @Flag(help: "Skip k-means: NMI and F1 are null.")
    var noClustering = false

    @Option(help: "Number of k-means clusters (default: the number of distinct labels).")
    var clusters: Int?

    @Option(help: "k-means iteration cap.")
    var kmeansIterations: Int = KMeansOptions().maxIterations

    @Option(help: "k-means relative objective tolerance.")
    var kmeansTolerance: Double = KMeansOptions().tolerance

    @Option(help: "Candidates per centre of the greedy k-means++ seeding (0: scikit-learn's 2 + ⌊ln K⌋; 1: plain k-means++).")
    var kmeansCandidates: Int = 0

    @Option(help: "Compute threads (default: the machine's cores). Each runs GEMM tiles (single-threaded BLAS) and their top-K selection; the results do not depend on it.")
    var threads: Int = ThreadBudget.availableCores

    @Option(help: "Queries per GEMM block of the neighbour search.")
    var blockSize: Int = NeighbourSearchOptions().queryBlockSize

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard (queryEmbeddings == nil) == (queryLabels == nil) else {
            throw ValidationError("--query-embeddings and --query-labels must be given together")
        }
        guard (1...EvalCommand.maximumThreads).contains(threads) else {
            throw ValidationError("--threads must be 1...\(EvalCommand.maximumThreads), got \(threads)")
        }
        guard blockSize >= 1, blockSize <= 1 << 20 else {
            throw ValidationError("--block-size must be 1...\(1 << 20), got \(blockSize)")
        }
        if let clusters, clusters < 1 {
            throw ValidationError("--clusters must be at least 1, got \(clusters)")
        }
        guard (0...1024).contains(kmeansCandidates) else {
            throw ValidationError("--kmeans-candidates must be 0...1024, got \(kmeansCandidates)")
        }
        guard kmeansIterations >= 1 else {
            throw ValidationError("--kmeans-iterations must be at least 1, got \(kmeansIterations)")
        }
        guard kmeansTolerance >= 0, kmeansTolerance.isFinite else {
            throw ValidationError("--kmeans-tolerance must be a non-negative number, got \(kmeansTolerance)")
        }
        if noClustering && clustersOut != nil {
            throw ValidationError("--clusters-out needs clustering (remove --no-clustering)")
        }
    }

    /// The evaluation options the flags describe.
    var options: EvaluationOptions {
        EvaluationOptions(metric: metric, recallKs: k.values, clustering: !noClustering, clusters: clusters,
                          kMeans: KMeansOptions(seed: seed, maxIterations: kmeansIterations, tolerance: kmeansTolerance,
                                                threads: threads, seedingCandidates: kmeansCandidates),
                          search: NeighbourSearchOptions(queryBlockSize: blockSize, threads: threads))
    }

    /// Reads the inputs, evaluates, writes `--clusters-out` and returns the JSON text to print.
    func execute() throws -> String {
        let pool = ThreadPool(threads: threads)
        let references = try NPYArray.read(from: embeddings).matrix(as: Float.self, source: embeddings)
        let referenceLabels = try NPYArray.read(from: labels).labels(source: labels)
        let result: EvaluationResult
        if let queryEmbeddings, let queryLabels {
            let queries = try NPYArray.read(from: queryEmbeddings).matrix(as: Float.self, source: queryEmbeddings)
            let labels = try NPYArray.read(from: queryLabels).labels(source: queryLabels)
            result = try evaluate(queries: queries, queryLabels: labels, references: references,
                                  referenceLabels: referenceLabels, options: options, pool: pool)
        } else {
            result = try evaluate(embeddings: references, labels: referenceLabels, options: options, pool: pool)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(result), as: UTF8.self)
        if let clustersOut, let assignments = result.clusterAssignments {
            try NPYArray(labels: assignments).write(to: clustersOut)
        }
        return json
    }

    /// The most threads accepted (more only come from typos).
    static let maximumThreads = 1024

    func run() throws {
        print(try execute())
    }
}
