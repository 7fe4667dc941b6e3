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
    /// Leave-one-out searches use the symmetry of the distances (`d(i, j) = d(j, i)`: every
    /// GEMM tile of rows `I` against rows `J`, `I < J`, serves the queries of both blocks, so
    /// half the GEMM work; see `BlockedNeighbourSearch`) when the top-K buffers of all `N`
    /// queries, `N · (2k + 64)` slots of a score and an index, take at most this many bytes.
    /// Otherwise, and at 0, they stream query blocks as searches against a separate reference
    /// set do. Neighbours are the same either way (up to the last bit of the distances).
    public var symmetricBufferLimit: Int
    /// Rows per block of the symmetric leave-one-out search: its GEMM tiles are
    /// `symmetricTileSize × symmetricTileSize` (fixed, so the results do not depend on the
    /// thread count). A round of the search has `⌊N / (2 · symmetricTileSize)⌋` tiles, at most
    /// that many busy workers: lower it on many cores.
    public var symmetricTileSize: Int

    /// Defaults: Euclidean, blocks of 1024 queries (cut into 256-query tiles, one GEMM each)
    /// against 8192 references (8 MiB of Float scores per worker), the machine's cores
    /// (`ThreadBudget.availableCores`), symmetric leave-one-out search while its buffers take
    /// at most 2 GiB (Stanford Online Products' 60,502 queries at k = 1,000 take 1.5 GiB) in
    /// tiles of 1024 × 1024 (4 MiB of Float scores per worker, and as much for their transpose).
    public init(metric: DistanceMetric = .euclidean, queryBlockSize: Int = 1024,
                referenceBlockSize: Int = 8192, tileRows: Int = 256, threads: Int = ThreadBudget.availableCores,
                symmetricBufferLimit: Int = 1 << 31, symmetricTileSize: Int = 1024) {
        self.symmetricBufferLimit = symmetricBufferLimit
        self.symmetricTileSize = symmetricTileSize
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
        guard symmetricTileSize > 0 else {
            throw EvaluationError.invalidOption(name: "symmetricTileSize", reason: "must be positive, got \(symmetricTileSize)")
        }
        guard symmetricBufferLimit >= 0 else {
            throw EvaluationError.invalidOption(name: "symmetricBufferLimit", reason: "must be zero or positive, got \(symmetricBufferLimit)")
        }
    }
}
