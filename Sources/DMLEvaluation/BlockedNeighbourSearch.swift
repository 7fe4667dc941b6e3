import DMLNumerics

/// One block of consecutive queries with their `k` nearest references, best first.
struct NeighbourBlock<T: BLASScalar> {
    /// The index of the block's first query.
    let firstQuery: Int
    /// The number of queries in the block.
    let queryCount: Int
    /// Neighbours per query.
    let k: Int
    /// Slots between the starts of two rows (`≥ k`).
    let stride: Int
    /// How many leading neighbours of each row are in order; the rest of the `k` are the next
    /// best, unordered.
    let sortedCount: Int
    /// `queryCount` rows of `stride` slots; the first `k` of row `r` are its reference indices,
    /// nearest first.
    let indices: UnsafeBufferPointer<Int>
    /// The matching distances, in the same layout.
    let distances: UnsafeBufferPointer<T>

    /// The neighbour indices of query `firstQuery + row`, nearest first.
    func neighbours(ofRow row: Int) -> UnsafeBufferPointer<Int> {
        UnsafeBufferPointer(rebasing: indices[(row * stride)..<(row * stride + k)])
    }

    /// The neighbour distances of query `firstQuery + row`, nearest first.
    func distances(ofRow row: Int) -> UnsafeBufferPointer<T> {
        UnsafeBufferPointer(rebasing: distances[(row * stride)..<(row * stride + k)])
    }
}

/// Exact k-nearest-neighbour search by blocked GEMM with a partial top-K per query.
///
/// Queries are processed `queryBlockSize` at a time and references `referenceBlockSize` at a
/// time: one GEMM fills a tile of scores `s(q, r) = ‖r‖² − 2 q·r` (Euclidean; ranking by it equals
/// ranking by `‖q − r‖²`, since `‖q‖²` is constant per query) or `s(q, r) = −q̂·r̂` (cosine),
/// and every query row of the tile is merged into that query's top-K buffer (`TopKRow`) by the
/// worker that computed the tile (see `forEachBlock`). Memory is `O(tile + 2 · queryBlockSize · k)`, never `N × N`.
/// In leave-one-out mode the references are the queries and query `i` never ranks itself
/// (by index, so a duplicate of it still counts as a neighbour).
package struct BlockedNeighbourSearch<T: BLASScalar> {
    let queries: Matrix<T>
    let references: Matrix<T>
    let leaveOneOut: Bool
    let k: Int
    let options: NeighbourSearchOptions

    /// References each query can rank: `N − 1` in leave-one-out mode, all of them otherwise.
    static func rankableReferences(references: Int, leaveOneOut: Bool) -> Int {
        leaveOneOut ? references - 1 : references
    }

    /// Prepares a search; the inputs must already be validated. Cosine normalizes rows here.
    package init(queries: Matrix<T>, references: Matrix<T>?, k: Int, options: NeighbourSearchOptions) throws {
        try options.validate()
        let leaveOneOut = references == nil
        let referenceRows = references?.rows ?? queries.rows
        let available = Self.rankableReferences(references: referenceRows, leaveOneOut: leaveOneOut)
        guard k >= 1, k <= available else {
            throw EvaluationError.tooFewReferences(needed: k, available: available, reason: "a \(k)-nearest-neighbour search")
        }
        switch options.metric {
        case .euclidean:
            self.queries = queries
            self.references = references ?? queries
        case .cosine:
            self.queries = try Self.normalizedRows(queries, name: leaveOneOut ? "embeddings" : "query embeddings")
            self.references = try references.map { try Self.normalizedRows($0, name: "reference embeddings") } ?? self.queries
        }
        self.leaveOneOut = leaveOneOut
        self.k = k
        self.options = options
    }

    /// Every row divided by its Euclidean length; a zero row is an error.
    static func normalizedRows(_ x: Matrix<T>, name: String) throws -> Matrix<T> {
        var y = x
        let norms = x.rowSquaredNorms()
        if let zero = norms.firstIndex(where: { $0 <= 0 }) { throw EvaluationError.zeroNorm(name: name, row: zero) }
        let d = x.columns
        y.withUnsafeMutableBufferPointer { p in
            for i in 0..<x.rows { T.scal(n: d, alpha: 1 / norms[i].squareRoot(), x: p.baseAddress! + i * d, incx: 1) }
        }
        return y
    }

    var alpha: T { options.metric == .euclidean ? -2 : -1 }

    /// Queries per block and per tile: tiles of `t = min(tileRows, queryBlockSize)` queries, and
    /// blocks of `t · max(⌈queryBlockSize / t⌉, threads)` queries, so every worker has a tile in
    /// every block and tiles always start at multiples of `t` (the same tiles at every thread
    /// count).
    static func blocking(_ options: NeighbourSearchOptions, queries: Int, threads: Int) -> (block: Int, tile: Int) {
        let tile = Swift.max(1, Swift.min(options.tileRows, options.queryBlockSize, queries))
        let tilesPerBlock = Swift.max((options.queryBlockSize + tile - 1) / tile, threads)
        return (Swift.min(tile * tilesPerBlock, queries), tile)
    }

    /// Runs the search and hands each finished query block to `body`, in query order, with the
    /// first `sortedPrefix` neighbours of each query in order (by distance, then index).
    ///
    /// Parallel on `pool`: each block of `queryBlockSize` queries is cut into tiles of
    /// `options.tileRows` queries (fixed, so every score comes from a GEMM call of the same shape
    /// at every thread count and the neighbours are identical whatever the pool's size), dealt out to the workers in contiguous runs; a worker runs the GEMM of its tile
    /// against every reference block (single-threaded BLAS, in its own scratch tile) and merges
    /// the scores into its queries' top-K buffers. `body` runs on the calling thread.
    ///
    /// Leave-one-out searches whose buffers fit `options.symmetricBufferLimit` run
    /// `forEachBlockSymmetric` instead (half the GEMM work).
    func forEachBlock(pool: ThreadPool, sortedPrefix: Int = .max, _ body: (NeighbourBlock<T>) throws -> Void) rethrows {
        if usesSymmetricSearch { return try forEachBlockSymmetric(pool: pool, sortedPrefix: sortedPrefix, body) }
        let nq = queries.rows, nr = references.rows, d = queries.columns, k = k
        let (qb, tileRows) = Self.blocking(options, queries: nq, threads: pool.threadCount)
        let rb = Swift.min(options.referenceBlockSize, nr)
        let bias: [T] = options.metric == .euclidean ? references.rowSquaredNorms() : [T](repeating: 0, count: nr)
        let queryNorms: [T] = options.metric == .euclidean ? queries.rowSquaredNorms() : [T](repeating: 0, count: nq)
        let metric = options.metric, leaveOneOut = leaveOneOut, alpha = alpha
        let tiles = WorkerScratch<T>(workers: pool.threadCount)
        let slots = TopKRow<T>.slots(k: k)
        var scores = [T](repeating: 0, count: qb * slots)
        var indices = [Int](repeating: 0, count: qb * slots)
        var states = [TopKRow<T>.State](repeating: TopKRow<T>.State(), count: qb)
        try BLASThreads.with(1) {
            try queries.withUnsafeBufferPointer { qp in
                try references.withUnsafeBufferPointer { rp in
                    try bias.withUnsafeBufferPointer { bp in
                        try scores.withUnsafeMutableBufferPointer { sp in
                            try indices.withUnsafeMutableBufferPointer { ip in
                                try states.withUnsafeMutableBufferPointer { cp in
                                    let heapScores = SharedPointer(base: sp.baseAddress!), heapIndices = SharedPointer(base: ip.baseAddress!)
                                    let heapStates = SharedPointer(base: cp.baseAddress!)
                                    for q0 in stride(from: 0, to: nq, by: qb) {
                                        let m = Swift.min(qb, nq - q0)
                                        pool.forEachBlock(count: m, blockSize: tileRows) { _, rows, worker in
                                            let tile = tiles.buffer(worker, count: tileRows * rb)
                                            for row in rows { heapStates.base[row] = TopKRow<T>.State() }
                                            Self.withSampleScratch { sampleScores, sampleIndices in
                                                for r0 in stride(from: 0, to: nr, by: rb) {
                                                    let n = Swift.min(rb, nr - r0)
                                                    T.gemm(.none, .transpose, m: rows.count, n: n, k: d, alpha: alpha,
                                                           a: qp.baseAddress! + (q0 + rows.lowerBound) * d, lda: d,
                                                           b: rp.baseAddress! + r0 * d, ldb: d, beta: 0, c: tile, ldc: n)
                                                    let columnBias = bp.baseAddress! + r0
                                                    for row in rows {
                                                        var topK = TopKRow(scores: heapScores.base + row * slots, indices: heapIndices.base + row * slots,
                                                                           k: k, state: heapStates.base[row])
                                                        let skipped = leaveOneOut ? q0 + row - r0 : -1
                                                        Self.merge(row: tile + (row - rows.lowerBound) * n, bias: columnBias, columns: n,
                                                                   skipping: (0..<n).contains(skipped) ? skipped : nil, base: r0,
                                                                   into: &topK, sampleScores: sampleScores, sampleIndices: sampleIndices)
                                                        heapStates.base[row] = topK.state
                                                    }
                                                }
                                            }
                                            for row in rows {
                                                var topK = TopKRow(scores: heapScores.base + row * slots, indices: heapIndices.base + row * slots,
                                                                   k: k, state: heapStates.base[row])
                                                Self.finish(&topK, sorted: sortedPrefix, metric: metric, queryNorm: queryNorms[q0 + row])
                                            }
                                        }
                                        try body(NeighbourBlock(firstQuery: q0, queryCount: m, k: k, stride: slots, sortedCount: Swift.min(sortedPrefix, k),
                                                                indices: UnsafeBufferPointer(rebasing: ip[0..<(m * slots)]),
                                                                distances: UnsafeBufferPointer(rebasing: sp[0..<(m * slots)])))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Keeps a query's best `k` and orders the first `sorted` (`TopKRow.finish`), turning each
    /// score into a distance: `√max(0, s + ‖q‖²)` (Euclidean, `s = ‖r‖² − 2 q·r`) or `1 + s`
    /// (cosine, `s = −q̂·r̂`).
    @inline(__always)
    static func finish(_ topK: inout TopKRow<T>, sorted: Int, metric: DistanceMetric, queryNorm: T) {
        _ = topK.finish(sorted: sorted) { s in
            metric == .euclidean ? Swift.max(0, s + queryNorm).squareRoot() : 1 + s
        }
    }

    /// Merges one query's scores `row[j] + bias[j]`, `j` in `0..<columns` except `skipped` (the
    /// query itself), into its top-K (reference index `base + j`).
    ///
    /// The first tile of a row is filtered by a `SampledThreshold` estimate. The filter is kept
    /// only when at least `k` candidates passed it: then every dropped candidate has `k` better
    /// ones and the estimate becomes the row's threshold. Otherwise the row starts again without
    /// it, so the result is always exact.
    @inline(__always)
    private static func merge(row: UnsafePointer<T>, bias: UnsafePointer<T>, columns: Int, skipping skipped: Int?,
                              base: Int, into topK: inout TopKRow<T>, sampleScores: UnsafeMutablePointer<T>,
                              sampleIndices: UnsafeMutablePointer<Int>) {
        let candidates = columns - (skipped == nil ? 0 : 1)
        if topK.state.count == 0, topK.state.thresholdScore == .infinity,
           let limit = SampledThreshold.estimate(row: row, bias: bias, columns: columns, candidates: candidates, k: topK.k,
                                                 sampleScores: sampleScores, sampleIndices: sampleIndices) {
            let appended = topK.merge(row: row, bias: bias, columns: 0..<columns, skipping: skipped, base: base, limit: limit)
            if appended >= topK.k {
                topK.tighten(to: limit)
                return
            }
            topK.state = TopKRow<T>.State()
        }
        topK.merge(row: row, bias: bias, columns: 0..<columns, skipping: skipped, base: base)
    }

    /// Runs `body` with scratch for one `SampledThreshold` sample (per worker, on the stack).
    @inline(__always)
    private static func withSampleScratch(_ body: (UnsafeMutablePointer<T>, UnsafeMutablePointer<Int>) -> Void) {
        withUnsafeTemporaryAllocation(of: T.self, capacity: SampledThreshold.sampleSize) { scores in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: SampledThreshold.sampleSize) { indices in
                body(scores.baseAddress!, indices.baseAddress!)
            }
        }
    }

    /// The same GEMM tiles as `forEachBlock` (the symmetric ones when it runs those), on the same workers, without any selection: the
    /// GEMM work the search cannot avoid, for benchmarks. Returns a checksum so the work cannot be
    /// optimized away.
    package func gemmPass(pool: ThreadPool) -> Double {
        if usesSymmetricSearch { return symmetricGEMMPass(pool: pool) }
        let nq = queries.rows, nr = references.rows, d = queries.columns, alpha = alpha
        let (qb, tileRows) = Self.blocking(options, queries: nq, threads: pool.threadCount)
        let rb = Swift.min(options.referenceBlockSize, nr)
        let tiles = WorkerScratch<T>(workers: pool.threadCount)
        var sums = [Double](repeating: 0, count: pool.threadCount)
        BLASThreads.with(1) {
            queries.withUnsafeBufferPointer { qp in
                references.withUnsafeBufferPointer { rp in
                    sums.withUnsafeMutableBufferPointer { cp in
                        let checksums = SharedPointer(base: cp.baseAddress!)
                        for q0 in stride(from: 0, to: nq, by: qb) {
                            let m = Swift.min(qb, nq - q0)
                            pool.forEachBlock(count: m, blockSize: tileRows) { _, rows, worker in
                                let tile = tiles.buffer(worker, count: tileRows * rb)
                                for r0 in stride(from: 0, to: nr, by: rb) {
                                    let n = Swift.min(rb, nr - r0)
                                    T.gemm(.none, .transpose, m: rows.count, n: n, k: d, alpha: alpha,
                                           a: qp.baseAddress! + (q0 + rows.lowerBound) * d, lda: d,
                                           b: rp.baseAddress! + r0 * d, ldb: d, beta: 0, c: tile, ldc: n)
                                    checksums.base[worker] += Double(tile[0])
                                }
                            }
                        }
                    }
                }
            }
        }
        return sums.reduce(0, +)
    }
}
