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
        let n = queries.rows, d = queries.columns, k = k, alpha = alpha
        let t = Swift.max(1, Swift.min(options.symmetricTileSize, n))
        let blocks = (n + t - 1) / t
        let norms: [T] = options.metric == .euclidean ? queries.rowSquaredNorms() : [T](repeating: 0, count: n)
        let metric = options.metric
        let slots = TopKRow<T>.slots(k: k)
        let scratch = WorkerScratch<T>(workers: pool.threadCount)
        var scores = [T](repeating: 0, count: n * slots)
        var indices = [Int](repeating: 0, count: n * slots)
        var states = [TopKRow<T>.State](repeating: TopKRow<T>.State(), count: n)
        let schedule = RoundRobinPairs(blocks: blocks)
        func rows(_ block: Int) -> Range<Int> { (block * t)..<Swift.min(n, (block + 1) * t) }
        try BLASThreads.with(1) {
            try queries.withUnsafeBufferPointer { xp in
                try norms.withUnsafeBufferPointer { np in
                    try scores.withUnsafeMutableBufferPointer { sp in
                        try indices.withUnsafeMutableBufferPointer { ip in
                            try states.withUnsafeMutableBufferPointer { cp in
                                let heapScores = SharedPointer(base: sp.baseAddress!), heapIndices = SharedPointer(base: ip.baseAddress!)
                                let heapStates = SharedPointer(base: cp.baseAddress!)
                                let x = xp.baseAddress!, bias = np.baseAddress!
                                let limits = Self.sampledLimits(x: x, rows: n, dimension: d, k: k, alpha: alpha, bias: bias, tile: t, pool: pool)
                                /// Merges `count` rows of `tile` (row `r` the candidates of query
                                /// `first + r` among the references `base..<base + columns`), under
                                /// each query's sampled limit.
                                func mergeRows(_ tile: UnsafePointer<T>, first: Int, count: Int, base: Int, columns: Int,
                                               rowStride: Int, skipSelf: Bool) {
                                    for r in 0..<count {
                                        let query = first + r
                                        var topK = TopKRow(scores: heapScores.base + query * slots, indices: heapIndices.base + query * slots,
                                                           k: k, state: heapStates.base[query])
                                        let row = tile + r * rowStride, limit = limits[query]
                                        if skipSelf {
                                            topK.merge(row: row, bias: bias + base, columns: 0..<(query - base), base: base, limit: limit)
                                            topK.merge(row: row, bias: bias + base, columns: (query - base + 1)..<columns, base: base, limit: limit)
                                        } else {
                                            topK.merge(row: row, bias: bias + base, columns: 0..<columns, base: base, limit: limit)
                                        }
                                        heapStates.base[query] = topK.state
                                    }
                                }
                                pool.forEachBlock(count: blocks, blockSize: 1) { block, _, worker in
                                    let r = rows(block)
                                    let tile = scratch.buffer(worker, count: t * t + t * (t + Self.transposePadding))
                                    T.gemm(.none, .transpose, m: r.count, n: r.count, k: d, alpha: alpha,
                                           a: x + r.lowerBound * d, lda: d, b: x + r.lowerBound * d, ldb: d,
                                           beta: 0, c: tile, ldc: r.count)
                                    mergeRows(tile, first: r.lowerBound, count: r.count, base: r.lowerBound, columns: r.count, rowStride: r.count, skipSelf: true)
                                }
                                for round in schedule.rounds {
                                    pool.forEachBlock(count: round.count, blockSize: 1) { pair, _, worker in
                                        let (a, b) = round[pair]
                                        let ra = rows(a), rb = rows(b)
                                        let tile = scratch.buffer(worker, count: t * t + t * (t + Self.transposePadding))
                                        let transposed = tile + t * t, transposedStride = ra.count + Self.transposePadding
                                        T.gemm(.none, .transpose, m: ra.count, n: rb.count, k: d, alpha: alpha,
                                               a: x + ra.lowerBound * d, lda: d, b: x + rb.lowerBound * d, ldb: d,
                                               beta: 0, c: tile, ldc: rb.count)
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
                                    let row = scratch.buffer(worker, count: t)
                                    var topK = TopKRow(scores: heapScores.base + query * slots, indices: heapIndices.base + query * slots, k: k)
                                    for block in 0..<blocks {
                                        let r = rows(block)
                                        T.gemm(.none, .transpose, m: 1, n: r.count, k: d, alpha: alpha, a: x + query * d, lda: d,
                                               b: x + r.lowerBound * d, ldb: d, beta: 0, c: row, ldc: r.count)
                                        let own = r.contains(query) ? query - r.lowerBound : r.count
                                        topK.merge(row: row, bias: bias + r.lowerBound, columns: 0..<own, base: r.lowerBound)
                                        topK.merge(row: row, bias: bias + r.lowerBound, columns: Swift.min(own + 1, r.count)..<r.count, base: r.lowerBound)
                                    }
                                    heapStates.base[query] = topK.state
                                }
                                pool.forEachBlock(count: n, blockSize: t) { _, range, _ in
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

    /// Per query, a score limit below which a little more than `k` of its `n − 1` candidates
    /// are expected to fall (`SampledThreshold` on its scores against 512 evenly spaced rows,
    /// itself excluded; one `n × 512` GEMM, 512/n of the search's), or `+∞` where a sample does
    /// not pay off (`k < 32` or fewer than `4k` candidates).
    static func sampledLimits(x: UnsafePointer<T>, rows n: Int, dimension d: Int, k: Int, alpha: T,
                              bias: UnsafePointer<T>, tile t: Int, pool: ThreadPool) -> [T] {
        var limits = [T](repeating: .infinity, count: n)
        let m = Swift.min(SampledThreshold.sampleSize, n)
        guard k >= 32, n - 1 >= 4 * k else { return limits }
        let sampled = (0..<m).map { $0 * n / m }
        var sample = [T](repeating: 0, count: m * d)
        for (i, j) in sampled.enumerated() { for c in 0..<d { sample[i * d + c] = x[j * d + c] } }
        let sampleBias = sampled.map { bias[$0] }
        let scratch = WorkerScratch<T>(workers: pool.threadCount)
        let indexScratch = WorkerScratch<Int>(workers: pool.threadCount)
        sample.withUnsafeBufferPointer { sp in
            sampleBias.withUnsafeBufferPointer { bp in
                limits.withUnsafeMutableBufferPointer { lp in
                    let out = SharedPointer(base: lp.baseAddress!)
                    pool.forEachBlock(count: n, blockSize: t) { _, range, worker in
                        let tile = scratch.buffer(worker, count: t * m + m)
                        let sampleScores = tile + t * m, sampleIndices = indexScratch.buffer(worker, count: m)
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
        return limits
    }

    /// The GEMM tiles of `forEachBlockSymmetric` without the selection (for benchmarks); returns
    /// a checksum.
    func symmetricGEMMPass(pool: ThreadPool) -> Double {
        let n = queries.rows, d = queries.columns, alpha = alpha
        let t = Swift.max(1, Swift.min(options.symmetricTileSize, n))
        let blocks = (n + t - 1) / t
        let scratch = WorkerScratch<T>(workers: pool.threadCount)
        var sums = [Double](repeating: 0, count: pool.threadCount)
        func rows(_ block: Int) -> Range<Int> { (block * t)..<Swift.min(n, (block + 1) * t) }
        let pairs = (0..<blocks).map { ($0, $0) } + RoundRobinPairs(blocks: blocks).rounds.joined()
        BLASThreads.with(1) {
            queries.withUnsafeBufferPointer { xp in
                sums.withUnsafeMutableBufferPointer { cp in
                    let checksums = SharedPointer(base: cp.baseAddress!), x = xp.baseAddress!
                    pool.forEachBlock(count: pairs.count, blockSize: 1) { pair, _, worker in
                        let ra = rows(pairs[pair].0), rb = rows(pairs[pair].1)
                        let tile = scratch.buffer(worker, count: t * t)
                        T.gemm(.none, .transpose, m: ra.count, n: rb.count, k: d, alpha: alpha,
                               a: x + ra.lowerBound * d, lda: d, b: x + rb.lowerBound * d, ldb: d,
                               beta: 0, c: tile, ldc: rb.count)
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
