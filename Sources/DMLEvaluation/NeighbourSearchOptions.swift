/// How the blocked nearest-neighbour search is run. None of these change the result except
/// `metric`; they trade memory for speed.
public struct NeighbourSearchOptions: Sendable, Codable, Equatable {
    /// Euclidean or cosine distance.
    public var metric: DistanceMetric
    /// Queries per block: one GEMM tile has `queryBlockSize × referenceBlockSize` scores.
    public var queryBlockSize: Int
    /// References per block.
    public var referenceBlockSize: Int
    /// Worker threads for the top-K selection (BLAS threads are set separately with
    /// `BLASThreads.set`). Results do not depend on it.
    public var threads: Int

    /// Defaults: Euclidean, 1024 × 8192 tiles (32 MiB of Float scores), 2 threads.
    public init(metric: DistanceMetric = .euclidean, queryBlockSize: Int = 1024,
                referenceBlockSize: Int = 8192, threads: Int = 2) {
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
        guard threads > 0 else {
            throw EvaluationError.invalidOption(name: "threads", reason: "must be positive, got \(threads)")
        }
    }
}
