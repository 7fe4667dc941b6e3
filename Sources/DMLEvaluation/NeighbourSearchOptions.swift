import DMLNumerics

/// How the blocked nearest-neighbour search is run. None of these change the result except
/// `metric`; they trade memory for speed.
public struct NeighbourSearchOptions: Sendable, Codable, Equatable {
    /// Euclidean or cosine distance.
    public var metric: DistanceMetric
    /// Queries per block: one GEMM tile has `queryBlockSize × referenceBlockSize` scores.
    public var queryBlockSize: Int
    /// References per block.
    public var referenceBlockSize: Int
    /// Queries per GEMM tile of one worker (a block is cut into tiles dealt out to the pool's
    /// workers). Fixed, not derived from the thread count, so the results do not depend on it.
    public var tileRows: Int
    /// Threads of the pool an evaluation creates when it is not given one: each runs the GEMM
    /// tiles of its queries (BLAS single-threaded inside) and their top-K selection. Results do
    /// not depend on it.
    public var threads: Int

    /// Defaults: Euclidean, blocks of 1024 queries (cut into 256-query tiles, one GEMM each)
    /// against 8192 references (8 MiB of Float scores per worker), the machine's cores
    /// (`ThreadBudget.availableCores`).
    public init(metric: DistanceMetric = .euclidean, queryBlockSize: Int = 1024,
                referenceBlockSize: Int = 8192, tileRows: Int = 256, threads: Int = ThreadBudget.availableCores) {
        self.tileRows = tileRows
        self.metric = metric
        self.queryBlockSize = queryBlockSize
        self.referenceBlockSize = referenceBlockSize
        self.threads = threads
    }

    func validate() throws {
        guard queryBlockSize > 0 else {
            throw EvaluationError.invalidOption(name: "queryBlockSize", reason: "must be positive, got \(queryBlockSize)")
        }
        guard referenceBlockSize > 0 else {
            throw EvaluationError.invalidOption(name: "referenceBlockSize", reason: "must be positive, got \(referenceBlockSize)")
        }
        guard tileRows > 0 else {
            throw EvaluationError.invalidOption(name: "tileRows", reason: "must be positive, got \(tileRows)")
        }
        guard threads > 0 else {
            throw EvaluationError.invalidOption(name: "threads", reason: "must be positive, got \(threads)")
        }
    }
}
