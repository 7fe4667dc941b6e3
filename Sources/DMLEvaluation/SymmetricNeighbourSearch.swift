import DMLNumerics

/// A schedule of every unordered pair of `blocks` blocks in rounds of disjoint pairs (the
/// circle method of round-robin tournaments).
///
/// With `n = blocks` rounded up to an even number, block `n − 1` stays fixed and the others turn
/// around a circle: round `r ∈ 0..<n − 1` pairs `n − 1` with `r` and, for `i ∈ 1..<n/2`,
/// `(r + i) mod (n − 1)` with `(r − i) mod (n − 1)`. Every unordered pair `{a, b}`, `a ≠ b`, occurs
/// in exactly one round and no block occurs twice in a round, so the tiles of one round write
/// disjoint rows and may run in parallel without locks. For an odd `blocks` the padding block
/// `n − 1` does not exist and its pairs are left out. Pairs are `(lower, higher)`.
struct RoundRobinPairs {
    /// The rounds, each a list of disjoint `(lower, higher)` block pairs.
    let rounds: [[(Int, Int)]]

    /// The schedule for `blocks ≥ 0` blocks (`blocks − 1` rounds when even, `blocks` when odd;
    /// none below 2).
    init(blocks: Int) {
        guard blocks >= 2 else { rounds = []; return }
        let n = blocks + blocks % 2
        rounds = (0..<(n - 1)).map { r in
            var pairs: [(Int, Int)] = []
            pairs.reserveCapacity(n / 2)
            if n - 1 < blocks { pairs.append((r, n - 1)) }
            for i in 1..<(n / 2) {
                let a = (r + i) % (n - 1), b = (r - i + n - 1) % (n - 1)
                pairs.append((Swift.min(a, b), Swift.max(a, b)))
            }
            return pairs
        }
    }
}

/// The blocks of a symmetric leave-one-out search over the `rows × dimension` points `x`: blocks
/// of `side` consecutive rows (the last may be shorter), and the score tile of two of them.
struct SymmetricBlocks<T: BLASScalar> {
    let x: UnsafePointer<T>
    let rows: Int
    let dimension: Int
    let side: Int
    /// `−2` (Euclidean) or `−1` (cosine, on normalized rows).
    let alpha: T

    /// `⌈rows / side⌉`.
    var count: Int { (rows + side - 1) / side }

    /// The rows of block `block`.
    func range(_ block: Int) -> Range<Int> { (block * side)..<Swift.min(rows, (block + 1) * side) }

    /// Scratch elements per worker: a tile and its transpose, padded (`transposePadding`).
    var scratchCount: Int { side * side + side * (side + BlockedNeighbourSearch<T>.transposePadding) }

    /// `tile[i · b.count + j] = α x_{a_i} · x_{b_j}`, one GEMM (single-threaded BLAS).
    func scores(_ a: Range<Int>, _ b: Range<Int>, into tile: UnsafeMutablePointer<T>) {
        T.gemm(.none, .transpose, m: a.count, n: b.count, k: dimension, alpha: alpha,
               a: x + a.lowerBound * dimension, lda: dimension, b: x + b.lowerBound * dimension, ldb: dimension,
               beta: 0, c: tile, ldc: b.count)
    }
}

extension BlockedNeighbourSearch {
    /// Whether `forEachBlock` runs the symmetric leave-one-out search: leave-one-out, and the
    /// top-K buffers of all queries (`N · slots(k)` scores and indices, computed with overflow
    /// checks) within `options.symmetricBufferLimit` bytes.
    var usesSymmetricSearch: Bool {
        guard leaveOneOut, options.symmetricBufferLimit > 0 else { return false }
        let slotBytes = MemoryLayout<T>.stride + MemoryLayout<Int>.stride
        let (slots, o1) = queries.rows.multipliedReportingOverflow(by: TopKRow<T>.slots(k: k))
        let (bytes, o2) = slots.multipliedReportingOverflow(by: slotBytes)
        return !o1 && !o2 && bytes <= options.symmetricBufferLimit
    }

    /// The symmetric leave-one-out search behind `forEachBlock`.
    ///
    /// The `N` rows are cut into blocks of `t = options.symmetricTileSize` (the last may be shorter). A
    /// diagonal tile `I × I` is one GEMM `−2 X_I X_Iᵀ` (cosine: `−X̂_I X̂_Iᵀ`) whose rows merge
    /// into the top-K of the queries of `I` (each skipping itself). An off-diagonal tile
    /// `I × J`, `I < J`, is one GEMM `G = α X_I X_Jᵀ` serving both blocks: row `i` of `G` plus
    /// `‖x_j‖²` ranks the references of `J` for query `i`, and column `j` of `G` (transposed in
    /// the worker's scratch) plus `‖x_i‖²` ranks the references of `I` for query `j`, since
    /// `‖x_i − x_j‖² − ‖x_i‖² = ‖x_j‖² − 2 x_i·x_j` and symmetrically. So the GEMM work is
    /// `N(N + t)/2 · d` multiply-adds instead of `N² · d`; every candidate is still offered to
    /// both of its queries, and every query keeps a top-K buffer for the whole search
    /// (`N · slots(k)` slots).
    ///
    /// The diagonal tiles run in one parallel region, then the off-diagonal ones round by round
    /// (`RoundRobinPairs`: the tiles of a round touch disjoint queries, so no locks). Tiles
    /// depend on `t` only, and each query's candidates arrive in the same order at every thread
    /// count, so the neighbours are identical whatever the pool's size. `body` runs on the
    /// calling thread for blocks of `queryBlockSize` queries, in query order, after the search.
    func forEachBlockSymmetric(pool: ThreadPool, sortedPrefix: Int, _ body: (NeighbourBlock<T>) throws -> Void) rethrows {
        let n = queries.rows, k = k
        let norms: [T] = options.metric == .euclidean ? queries.rowSquaredNorms() : [T](repeating: 0, count: n)
        let metric = options.metric
        let slots = TopKRow<T>.slots(k: k)
        let scratch = WorkerScratch<T>(workers: pool.threadCount)
        var scores = [T](repeating: 0, count: n * slots)
        var indices = [Int](repeating: 0, count: n * slots)
        var states = [TopKRow<T>.State](repeating: TopKRow<T>.State(), count: n)
        let limits = sampledLimits(norms: norms, pool: pool)
        try BLASThreads.with(1) {
            try queries.withUnsafeBufferPointer { xp in
                try norms.withUnsafeBufferPointer { np in
                    try scores.withUnsafeMutableBufferPointer { sp in
                        try indices.withUnsafeMutableBufferPointer { ip in
                            try states.withUnsafeMutableBufferPointer { cp in
                                let heapScores = SharedPointer(base: sp.baseAddress!), heapIndices = SharedPointer(base: ip.baseAddress!)
                                let heapStates = SharedPointer(base: cp.baseAddress!)
                                let bias = np.baseAddress!
                                let geometry = symmetricBlocks(xp.baseAddress!)
                                let schedule = RoundRobinPairs(blocks: geometry.count)
                                /// Merges `count` rows of `tile` (row `r` the candidates of query
                                /// `first + r` among the references `base..<base + columns`), under
                                /// each query's sampled limit.
                                func mergeRows(_ tile: UnsafePointer<T>, first: Int, count: Int, base: Int, columns: Int,
                                               rowStride: Int, skipSelf: Bool) {
                                    for r in 0..<count {
                                        let query = first + r
                                        var topK = TopKRow(scores: heapScores.base + query * slots, indices: heapIndices.base + query * slots,
                                                           k: k, state: heapStates.base[query])
                                        topK.merge(row: tile + r * rowStride, bias: bias + base, columns: 0..<columns,
                                                   skipping: skipSelf ? query - base : nil, base: base, limit: limits[query])
                                        heapStates.base[query] = topK.state
                                    }
                                }
                                pool.forEachBlock(count: geometry.count, blockSize: 1) { block, _, worker in
                                    let r = geometry.range(block)
                                    let tile = scratch.buffer(worker, count: geometry.scratchCount)
                                    geometry.scores(r, r, into: tile)
                                    mergeRows(tile, first: r.lowerBound, count: r.count, base: r.lowerBound, columns: r.count, rowStride: r.count, skipSelf: true)
                                }
                                for round in schedule.rounds {
                                    pool.forEachBlock(count: round.count, blockSize: 1) { pair, _, worker in
                                        let (a, b) = round[pair]
                                        let ra = geometry.range(a), rb = geometry.range(b)
                                        let tile = scratch.buffer(worker, count: geometry.scratchCount)
                                        let transposed = tile + geometry.side * geometry.side, transposedStride = ra.count + Self.transposePadding
                                        geometry.scores(ra, rb, into: tile)
                                        mergeRows(tile, first: ra.lowerBound, count: ra.count, base: rb.lowerBound, columns: rb.count,
                                                  rowStride: rb.count, skipSelf: false)
                                        Self.transpose(tile, rows: ra.count, columns: rb.count, into: transposed, stride: transposedStride)
                                        mergeRows(transposed, first: rb.lowerBound, count: rb.count, base: ra.lowerBound, columns: ra.count,
                                                  rowStride: transposedStride, skipSelf: false)
                                    }
                                }
                                // A query with fewer than k candidates under its limit (about one in
                                // 700) lost some: search it again against every block, without one.
                                let missed = (0..<n).filter { heapStates.base[$0].count < k }
                                pool.forEachBlock(count: missed.count, blockSize: 1) { m, _, worker in
                                    let query = missed[m]
                                    let row = scratch.buffer(worker, count: geometry.scratchCount)
                                    var topK = TopKRow(scores: heapScores.base + query * slots, indices: heapIndices.base + query * slots, k: k)
                                    for block in 0..<geometry.count {
                                        let r = geometry.range(block)
                                        geometry.scores(query..<(query + 1), r, into: row)
                                        topK.merge(row: row, bias: bias + r.lowerBound, columns: 0..<r.count, skipping: query - r.lowerBound,
                                                   base: r.lowerBound)
                                    }
                                    heapStates.base[query] = topK.state
                                }
                                pool.forEachBlock(count: n, blockSize: geometry.side) { _, range, _ in
                                    for query in range {
                                        var topK = TopKRow(scores: heapScores.base + query * slots, indices: heapIndices.base + query * slots,
                                                           k: k, state: heapStates.base[query])
                                        Self.finish(&topK, sorted: sortedPrefix, metric: metric, queryNorm: bias[query])
                                    }
                                }
                                let qb = Swift.max(1, Swift.min(options.queryBlockSize, n))
                                for q0 in stride(from: 0, to: n, by: qb) {
                                    let m = Swift.min(qb, n - q0)
                                    try body(NeighbourBlock(firstQuery: q0, queryCount: m, k: k, stride: slots, sortedCount: Swift.min(sortedPrefix, k),
                                                            indices: UnsafeBufferPointer(rebasing: ip[(q0 * slots)..<((q0 + m) * slots)]),
                                                            distances: UnsafeBufferPointer(rebasing: sp[(q0 * slots)..<((q0 + m) * slots)])))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The blocks of this search's symmetric form over the rows at `x` (the queries' storage):
    /// `symmetricTileSize` rows each, at most all of them.
    func symmetricBlocks(_ x: UnsafePointer<T>) -> SymmetricBlocks<T> {
        SymmetricBlocks(x: x, rows: queries.rows, dimension: queries.columns, side: symmetricBlockSide, alpha: alpha)
    }

    /// Rows per block of the symmetric search: `symmetricTileSize`, at most all of them.
    var symmetricBlockSide: Int { Swift.max(1, Swift.min(options.symmetricTileSize, queries.rows)) }

    /// Per query, a score limit below which a little more than `k` of its `n − 1` candidates
    /// are expected to fall (`SampledThreshold` on its scores `α x·s + ‖s‖²` (`norms`) against 512
    /// evenly spaced rows `s`, itself excluded; one `n × 512` GEMM, 512/n of the search's), or
    /// `+∞` where a sample does not pay off (`k < 32` or fewer than `4k` candidates).
    func sampledLimits(norms: [T], pool: ThreadPool) -> [T] {
        let n = queries.rows, d = queries.columns, k = k, alpha = alpha
        var limits = [T](repeating: .infinity, count: n)
        let m = Swift.min(SampledThreshold.sampleSize, n)
        guard k >= 32, n - 1 >= 4 * k else { return limits }
        let sampled = (0..<m).map { $0 * n / m }
        let sample = queries.gatheringRows(sampled)
        let sampleBias = sampled.map { norms[$0] }
        let tileRows = symmetricBlockSide
        let scratch = WorkerScratch<T>(workers: pool.threadCount)
        let indexScratch = WorkerScratch<Int>(workers: pool.threadCount)
        BLASThreads.with(1) {
            queries.withUnsafeBufferPointer { xp in
                sample.withUnsafeBufferPointer { sp in
                    sampleBias.withUnsafeBufferPointer { bp in
                        limits.withUnsafeMutableBufferPointer { lp in
                            let out = SharedPointer(base: lp.baseAddress!), x = xp.baseAddress!
                            pool.forEachBlock(count: n, blockSize: tileRows) { _, range, worker in
                                let tile = scratch.buffer(worker, count: tileRows * m + m)
                                let sampleScores = tile + tileRows * m, sampleIndices = indexScratch.buffer(worker, count: m)
                                T.gemm(.none, .transpose, m: range.count, n: m, k: d, alpha: alpha, a: x + range.lowerBound * d, lda: d,
                                       b: sp.baseAddress!, ldb: d, beta: 0, c: tile, ldc: m)
                                for query in range {
                                    let row = tile + (query - range.lowerBound) * m
                                    // The query itself, if sampled, is no candidate.
                                    let own = (query * m + n - 1) / n  // the first i with ⌊i·n/m⌋ ≥ query
                                    if own < m, sampled[own] == query { row[own] = .infinity }
                                    out.base[query] = SampledThreshold.estimate(row: row, bias: bp.baseAddress!, columns: m, candidates: n - 1, k: k,
                                                                                sampleScores: sampleScores, sampleIndices: sampleIndices) ?? .infinity
                                }
                            }
                        }
                    }
                }
            }
        }
        return limits
    }

    /// The GEMM tiles of `forEachBlockSymmetric` without the selection (for benchmarks); returns
    /// a checksum.
    func symmetricGEMMPass(pool: ThreadPool) -> Double {
        let scratch = WorkerScratch<T>(workers: pool.threadCount)
        var sums = [Double](repeating: 0, count: pool.threadCount)
        BLASThreads.with(1) {
            queries.withUnsafeBufferPointer { xp in
                sums.withUnsafeMutableBufferPointer { cp in
                    let checksums = SharedPointer(base: cp.baseAddress!), geometry = symmetricBlocks(xp.baseAddress!)
                    let pairs = (0..<geometry.count).map { ($0, $0) } + RoundRobinPairs(blocks: geometry.count).rounds.joined()
                    pool.forEachBlock(count: pairs.count, blockSize: 1) { pair, _, worker in
                        let tile = scratch.buffer(worker, count: geometry.scratchCount)
                        geometry.scores(geometry.range(pairs[pair].0), geometry.range(pairs[pair].1), into: tile)
                        checksums.base[worker] += Double(tile[0])
                    }
                }
            }
        }
        return sums.reduce(0, +)
    }

    /// Scalars between the rows of a transposed tile beyond its width: 16 (64 bytes of Float),
    /// so that a tile's rows do not all fall into the same cache set when the width is a
    /// multiple of 1024 bytes (the transpose writes one element to each of 32 rows in turn).
    static var transposePadding: Int { 16 }

    /// `destination[j · stride + i] = source[i · columns + j]`, in 32 × 32 blocks (both tiles
    /// stay in the worker's cache).
    static func transpose(_ source: UnsafePointer<T>, rows: Int, columns: Int, into destination: UnsafeMutablePointer<T>, stride: Int) {
        let block = 32
        for i0 in Swift.stride(from: 0, to: rows, by: block) {
            let i1 = Swift.min(rows, i0 + block)
            for j0 in Swift.stride(from: 0, to: columns, by: block) {
                let j1 = Swift.min(columns, j0 + block)
                for i in i0..<i1 {
                    let row = source + i * columns
                    for j in j0..<j1 { destination[j * stride + i] = row[j] }
                }
            }
        }
    }
}
