import DMLNumerics

/// How `ReferenceGeometry.backward` carries the memory block of the weights to `∂L/∂P`.
enum MemoryBackward: Sendable {
    /// Dense GEMMs when most weights are nonzero, the sparse scatter otherwise
    /// (`ReferenceGeometry.sparseDensity`).
    case automatic
    /// Always the dense GEMMs `W·M` (A × N × d).
    case dense
    /// Always the sparse scatter over the nonzero weights.
    case sparse
}

/// The geometry between `A` points (a batch or an augmented batch) and the reference set
/// "the points themselves, then `N` memory points": matrices of `A` rows and `R = A + N`
/// columns, column `j < A` being point `j` and column `A + k` memory row `k`.
///
/// - `G = P·[P; M]ᵀ`: the `A × A` block by one SYRK (exactly `PairwiseDistances(P)`), the
///   `A × N` block by one GEMM `P·M_tileᵀ` per tile of memory columns, written in place
///   (leading dimension `R`); the `(A + N)²` matrix is never formed.
/// - `D²_ij = ‖p_i‖² + ‖r_j‖² − 2 G_ij` clamped at 0, `D = √D²`, as in `PairwiseDistances`,
///   formed for the memory block only when asked for.
///
/// `backward` takes `∂L/∂G` and/or `∂L/∂D²` (both `A × R`) and returns `∂L/∂P` only (memory
/// points are constants):
/// - the `A × A` block as `PairwiseDistances.backward` (one GEMM);
/// - the memory block `W` (`A × N`, with `W_G`, `W_S` its gram and squared-distance parts):
///   `∂L/∂p_i += Σ_k (W_G,ik − 2 W_S,ik) m_k + 2 (Σ_k W_S,ik) p_i`. Dense: GEMMs per part
///   that is present, reading the weights in place. Sparse (the hard-negative-pair-mining
///   losses, whose memory block holds one weight per mining set and class): when at most
///   `sparseDensity` of the block is nonzero, each memory row `m_k` with a nonzero weight is
///   added to the gradient rows of its nonzero entries (`axpy`), columns in ascending order —
///   `nnz · d` multiply-adds instead of `A · N · d`.
///
/// **Tiles.** The memory columns are split into tiles of `tile` columns (`defaultTile`, the
/// last one shorter). The forward does, per tile, the GEMM `P·M_tileᵀ` into its columns of `G`
/// and at once `‖m_k‖²`, `D²`, `D` of those columns while they are in cache. The backward counts
/// the nonzero memory weights and forms the row sums `Σ_k W_S,ik` per tile (partial sums added
/// in tile order), then the dense route multiplies each worker's run of tiles
/// (`denseMemoryBackward`).
///
/// **Threads.** With a `pool` of more than one thread the tiles are dealt to the workers in
/// contiguous runs (`ThreadPool.forEachBlock`), one single-threaded BLAS call per tile
/// (`BLASThreads.with(1)`), so each worker reads only its share of `M` (a split of the `A` rows
/// would make every worker read and pack all of `M`). Because the tiles do not depend on the
/// thread count, `G`, `D²`, `D` and the row sums are the same bits at every thread count. The
/// dense backward adds each worker's `A × d` partial product to `∂L/∂P` in worker order: the same
/// numbers run after run at a given thread count, equal to rounding across thread counts. The
/// sparse backward splits the `A` rows and adds each row's terms in ascending column order
/// whatever the split, so it is identical at every thread count.
///
/// With an empty memory every matrix and every gradient is bit-identical to `PairwiseDistances`.
struct ReferenceGeometry<T: BLASScalar> {
    /// The geometry of the points among themselves.
    let base: PairwiseDistances<T>
    /// The memory rows, `N × d` (0 rows without memory).
    let memory: Matrix<T>
    /// `G`, `A × R`.
    let gram: Matrix<T>
    /// The pool the memory-block work runs on (`nil`: the calling thread).
    let pool: ThreadPool?
    /// The memory columns per tile of the blocked forward and backward (`defaultTile`).
    let tile: Int
    /// `D²`, `A × R` (only if asked for, or without memory).
    private let storedSquared: Matrix<T>?
    /// `D`, `A × R` (only if asked for, or without memory).
    private let storedDistances: Matrix<T>?

    /// The largest share of nonzero weights in the memory block for which `.automatic` takes
    /// the sparse backward. Measured with `dml bench losses --memory 8192` (docs/losses.md):
    /// the scatter costs about as much per nonzero as the dense GEMM per entry divided by this.
    static var sparseDensity: Double { 0.08 }

    /// The minimum number of rows per worker for the pooled memory-block work.
    private static var minimumRows: Int { 8 }

    /// The memory columns of one tile: `A × 512` Float blocks of `G`, `D²`, `D` (256 KB each at
    /// A = 128) stay in L2 between the tile's GEMM and its element-wise pass, and a tile's GEMM
    /// (A × 512 × d) is large enough for BLAS to run near its peak.
    static var defaultTile: Int { 512 }

    /// `D²`, `A × R`. - Precondition: the geometry was made with `squared: true` or without memory.
    var squared: Matrix<T> {
        guard let storedSquared else { preconditionFailure("this geometry was made without D²") }
        return storedSquared
    }

    /// `D`, `A × R`. - Precondition: the geometry was made with `distances: true` or without memory.
    var distances: Matrix<T> {
        guard let storedDistances else { preconditionFailure("this geometry was made without D") }
        return storedDistances
    }

    /// The geometry of `points` against themselves and `memory` (nil or empty: none).
    ///
    /// With a memory, the `A × N` blocks of `D` and `D²` are formed only when `distances` /
    /// `squared` ask for them (the similarity losses need `G` alone, the distance losses `D`,
    /// squared triplets `D²`): each skipped matrix saves an `A × R` pass (a square root per
    /// entry for `D`) and its memory. Without memory all three come from `PairwiseDistances`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    init(_ points: Matrix<T>, memory: Matrix<T>?, distances needsDistances: Bool = true, squared needsSquared: Bool = true,
         pool: ThreadPool? = nil, tile: Int = Self.defaultTile) {
        precondition(tile >= 1, "the memory tile must hold at least one column")
        let base = PairwiseDistances(points)
        self.base = base
        self.pool = pool
        self.tile = tile
        guard let memory, memory.rows > 0 else {
            self.memory = Matrix(rows: 0, columns: points.columns)
            gram = base.gram
            storedSquared = base.squared
            storedDistances = base.distances
            return
        }
        precondition(memory.columns == points.columns, "memory and points must have the same dimension")
        self.memory = memory
        let a = points.rows, n = memory.rows, r = a + n, d = points.columns
        // Every entry of G, D², D is written below (the A × A block copied, the memory block by
        // the tile GEMMs with β = 0 and the D²/D pass): no zero fill first.
        var g = Self.unfilled(rows: a, columns: r)
        var sq = Self.unfilled(rows: needsSquared ? a : 0, columns: needsSquared ? r : 0)
        var dist = Self.unfilled(rows: needsDistances ? a : 0, columns: needsDistances ? r : 0)
        // ‖m_k‖² only for D²/D (formed tile by tile, while the tile's memory rows are in cache).
        let needsNorms = needsSquared || needsDistances
        var memoryNorms = [T](unsafeUninitializedCapacity: needsNorms ? n : 0) { _, initialized in initialized = needsNorms ? n : 0 }
        g.withUnsafeMutableBufferPointer { pg in
            sq.withUnsafeMutableBufferPointer { ps in
                dist.withUnsafeMutableBufferPointer { pd in
                    base.gram.withUnsafeBufferPointer { bg in
                        base.squared.withUnsafeBufferPointer { bs in
                            base.distances.withUnsafeBufferPointer { bd in
                                for i in 0..<a {
                                    (pg.baseAddress! + i * r).update(from: bg.baseAddress! + i * a, count: a)
                                    if needsSquared { (ps.baseAddress! + i * r).update(from: bs.baseAddress! + i * a, count: a) }
                                    if needsDistances { (pd.baseAddress! + i * r).update(from: bd.baseAddress! + i * a, count: a) }
                                }
                            }
                        }
                    }
                    let gOut = SendablePointer(pg.baseAddress!)
                    let sOut = needsSquared ? SendablePointer(ps.baseAddress!) : nil
                    let dOut = needsDistances ? SendablePointer(pd.baseAddress!) : nil
                    let norms = base.squaredNorms
                    points.withUnsafeBufferPointer { pp in
                        memory.withUnsafeBufferPointer { pm in
                            memoryNorms.withUnsafeMutableBufferPointer { mnBuffer in
                                let mnOut = needsNorms ? SendablePointer(mnBuffer.baseAddress!) : nil
                                norms.withUnsafeBufferPointer { pn in
                                    // One tile of memory columns: its GEMM, then its ‖m_k‖², D², D
                                    // while the tile is in cache.
                                    Self.forEachTile(n, tile: tile, pool: pool) { columns in
                                        let c0 = columns.lowerBound, width = columns.count
                                        T.gemm(.none, .transpose, m: a, n: width, k: d, alpha: 1,
                                               a: pp.baseAddress!, lda: d, b: pm.baseAddress! + c0 * d, ldb: d, beta: 0,
                                               c: gOut.pointer + a + c0, ldc: r)
                                        guard let mnOut else { return }
                                        for k in columns {
                                            let row = pm.baseAddress! + k * d
                                            mnOut.pointer[k] = T.dot(n: d, x: row, incx: 1, y: row, incy: 1)
                                        }
                                        for i in 0..<a {
                                            Self.memoryDistances(row: i * r + a + c0, norm: pn[i], memoryNorms: mnOut.pointer + c0,
                                                                 count: width, gram: gOut.pointer, squared: sOut?.pointer,
                                                                 distances: dOut?.pointer)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        gram = g
        storedSquared = needsSquared ? sq : nil
        storedDistances = needsDistances ? dist : nil
    }

    /// A `rows × columns` matrix whose elements the caller overwrites before reading (they
    /// start as zero bits from a fresh allocation or as stale values; `T` is a trivial type).
    static func unfilled(rows: Int, columns: Int) -> Matrix<T> {
        let count = rows * columns
        let elements = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        return Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// A `rows × columns` matrix of zeros, its rows zeroed in parallel over `pool`
    /// (`splitRows`: each worker writes its rows into its own cache, where the loss's pass over
    /// those rows then finds them).
    static func zeros(rows: Int, columns: Int, pool: ThreadPool?) -> Matrix<T> {
        var matrix = unfilled(rows: rows, columns: columns)
        guard rows > 0, columns > 0 else { return matrix }
        matrix.withUnsafeMutableBufferPointer { p in
            let out = SendablePointer(p.baseAddress!)
            splitRows(rows, pool: pool) { range in
                (out.pointer + range.lowerBound * columns).update(repeating: 0, count: range.count * columns)
            }
        }
        return matrix
    }

    /// `D²` and/or `D` of one row of the memory block from its Gram entries (flat offset `row`).
    @inline(__always)
    private static func memoryDistances(row: Int, norm ni: T, memoryNorms mn: UnsafePointer<T>, count n: Int,
                                        gram: UnsafeMutablePointer<T>, squared: UnsafeMutablePointer<T>?,
                                        distances: UnsafeMutablePointer<T>?) {
        let gRow = gram + row
        switch (squared, distances) {
        case let (s?, dd?):
            let sRow = s + row, dRow = dd + row
            for k in 0..<n {
                let v = Swift.max(ni + mn[k] - 2 * gRow[k], 0)
                sRow[k] = v
                dRow[k] = v.squareRoot()
            }
        case let (s?, nil):
            let sRow = s + row
            for k in 0..<n { sRow[k] = Swift.max(ni + mn[k] - 2 * gRow[k], 0) }
        case let (nil, dd?):
            let dRow = dd + row
            for k in 0..<n { dRow[k] = Swift.max(ni + mn[k] - 2 * gRow[k], 0).squareRoot() }
        case (nil, nil):
            break
        }
    }

    /// Runs `body` over the row chunks of `0..<rows`: on the pool (BLAS single-threaded inside)
    /// when it has more than one thread, else once over all rows on the calling thread.
    static func splitRows(_ rows: Int, pool: ThreadPool?, _ body: (Range<Int>) -> Void) {
        guard let pool, pool.threadCount > 1, rows >= 2 * minimumRows else {
            body(0..<rows)
            return
        }
        BLASThreads.with(1) {
            pool.parallelFor(count: rows, minimumChunk: minimumRows) { range, _ in body(range) }
        }
    }

    /// Runs `body` over the tiles `[t·tile, min(n, (t+1)·tile))` of `0..<n` memory columns: on
    /// the pool in contiguous runs of tiles per worker (BLAS single-threaded inside) when it has
    /// more than one thread and there are two tiles or more, else in order on the calling
    /// thread. The tiles do not depend on the thread count, so anything computed per tile is
    /// identical at every thread count.
    static func forEachTile(_ n: Int, tile: Int, pool: ThreadPool?, _ body: (Range<Int>) -> Void) {
        guard n > 0 else { return }
        guard let pool, pool.threadCount > 1, n > tile else {
            var start = 0
            while start < n {
                body(start..<Swift.min(n, start + tile))
                start += tile
            }
            return
        }
        BLASThreads.with(1) {
            pool.forEachBlock(count: n, blockSize: tile) { _, columns, _ in body(columns) }
        }
    }

    /// `A`, the number of points (rows).
    var rows: Int { base.count }
    /// `R = A + N`, the number of reference columns.
    var columns: Int { base.count + memory.rows }
    /// Whether there are memory columns.
    var hasMemory: Bool { memory.rows > 0 }

    /// `∂L/∂P` from `∂L/∂G` and/or `∂L/∂D²` over the `A × R` entries (see the type's
    /// documentation); `strategy` picks the memory-block backward (tests compare the two).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(gram wG: Matrix<T>? = nil, squared wS: Matrix<T>? = nil, strategy: MemoryBackward = .automatic) -> Matrix<T> {
        guard hasMemory else { return base.backward(gram: wG, squared: wS) }
        let a = rows, r = columns, n = memory.rows, d = memory.columns
        func block(_ w: Matrix<T>?) -> Matrix<T>? {
            guard let w else { return nil }
            precondition(w.rows == a && w.columns == r, "weights must be \(a)×\(r)")
            var out = Matrix<T>(rows: a, columns: a)
            w.withUnsafeBufferPointer { pw in
                out.withUnsafeMutableBufferPointer { po in
                    for i in 0..<a {
                        (po.baseAddress! + i * a).update(from: pw.baseAddress! + i * r, count: a)
                    }
                }
            }
            return out
        }
        var result = base.backward(gram: block(wG), squared: block(wS))
        // Σ_k W_S,ik per row and the number of nonzero memory weights: one pass per tile (on the
        // pool), per-tile partial sums added in tile order (the same at every thread count).
        let tile = self.tile, pool = self.pool
        let tiles = (n + tile - 1) / tile
        var tileSums = [T](repeating: 0, count: wS == nil ? 0 : tiles * a)
        var tileCounts = [Int](repeating: 0, count: tiles)
        tileSums.withUnsafeMutableBufferPointer { sumsBuffer in
            tileCounts.withUnsafeMutableBufferPointer { countsBuffer in
                let sumsOut = wS == nil ? nil : SendablePointer(sumsBuffer.baseAddress!)
                let countsOut = SendablePointer(countsBuffer.baseAddress!)
                Self.withOptionalPointer(wG) { gPointer in
                    Self.withOptionalPointer(wS) { sPointer in
                        Self.forEachTile(n, tile: tile, pool: pool) { columns in
                            let t = columns.lowerBound / tile, c0 = a + columns.lowerBound, width = columns.count
                            var count = 0
                            if let gPointer {
                                for i in 0..<a {
                                    let row = gPointer + i * r + c0
                                    for k in 0..<width { count += row[k] != 0 ? 1 : 0 }
                                }
                            }
                            if let sPointer, let sumsOut {
                                for i in 0..<a {
                                    let row = sPointer + i * r + c0
                                    var total: T = 0
                                    for k in 0..<width {
                                        total += row[k]
                                        count += row[k] != 0 ? 1 : 0
                                    }
                                    sumsOut.pointer[t * a + i] = total
                                }
                            }
                            countsOut.pointer[t] = count
                        }
                    }
                }
            }
        }
        let nonzero = tileCounts.reduce(0, +)
        var rowSums = [T](repeating: 0, count: a)
        if wS != nil {
            for t in 0..<tiles {
                for i in 0..<a { rowSums[i] += tileSums[t * a + i] }
            }
        }
        let parts = (wG == nil ? 0 : 1) + (wS == nil ? 0 : 1)
        let sparse: Bool
        switch strategy {
        case .automatic: sparse = Double(nonzero) <= Self.sparseDensity * Double(parts * a * n)
        case .dense: sparse = false
        case .sparse: sparse = true
        }
        result.withUnsafeMutableBufferPointer { po in
            memory.withUnsafeBufferPointer { pm in
                base.points.withUnsafeBufferPointer { pp in
                    let out = SendablePointer(po.baseAddress!)
                    let m = pm.baseAddress!, p = pp.baseAddress!
                    Self.withOptionalPointer(wG) { gPointer in
                        Self.withOptionalPointer(wS) { sPointer in
                            if sparse {
                                Self.splitRows(a, pool: pool) { rows in
                                    Self.sparseMemoryBackward(rows: rows, a: a, r: r, n: n, d: d, gram: gPointer, squared: sPointer,
                                                              memory: m, into: out.pointer)
                                }
                            } else {
                                Self.denseMemoryBackward(a: a, r: r, n: n, d: d, tile: tile, pool: pool, gram: gPointer,
                                                         squared: sPointer, memory: m, into: out.pointer)
                            }
                            guard sPointer != nil else { return }
                            for i in 0..<a {
                                let s = 2 * rowSums[i]
                                guard s != 0 else { continue }
                                T.axpy(n: d, alpha: s, x: p + i * d, incx: 1, y: out.pointer + i * d, incy: 1)
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// `body` with the base address of `matrix`'s elements, or `nil` without a matrix.
    private static func withOptionalPointer<R>(_ matrix: Matrix<T>?, _ body: (UnsafePointer<T>?) -> R) -> R {
        guard let matrix else { return body(nil) }
        return matrix.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// `∂L/∂P += (W_G − 2 W_S)·M` over the memory block by GEMMs over the memory columns: one
    /// call per part over all `N` columns on the calling thread; with a pool, worker `w` takes
    /// the contiguous run of tiles `ThreadPool.chunk(w, of: workers, count: tiles)` — its share
    /// of the columns of `W` and the rows of `M`, so no worker reads all of `M` — worker 0
    /// adding into `out`, the others into their own `A × d` partials, added to `out` in worker
    /// order afterwards (the same numbers run after run at a given thread count).
    private static func denseMemoryBackward(a: Int, r: Int, n: Int, d: Int, tile: Int, pool: ThreadPool?,
                                            gram: UnsafePointer<T>?, squared: UnsafePointer<T>?,
                                            memory m: UnsafePointer<T>, into out: UnsafeMutablePointer<T>) {
        // Columns `columns` of the memory block into `c` (β = 1 adds to it, β = 0 overwrites).
        func product(_ columns: Range<Int>, into c: UnsafeMutablePointer<T>, beta: T) {
            var beta = beta
            let c0 = a + columns.lowerBound, width = columns.count
            if let gram {
                T.gemm(.none, .none, m: a, n: d, k: width, alpha: 1, a: gram + c0, lda: r,
                       b: m + columns.lowerBound * d, ldb: d, beta: beta, c: c, ldc: d)
                beta = 1
            }
            if let squared {
                T.gemm(.none, .none, m: a, n: d, k: width, alpha: -2, a: squared + c0, lda: r,
                       b: m + columns.lowerBound * d, ldb: d, beta: beta, c: c, ldc: d)
            }
        }
        let tiles = (n + tile - 1) / tile
        let workers = pool.map { $0.chunkCount(count: tiles) } ?? 1
        guard let pool, workers > 1 else {
            product(0..<n, into: out, beta: 1)
            return
        }
        let partials = UnsafeMutablePointer<T>.allocate(capacity: (workers - 1) * a * d)
        defer { partials.deallocate() }
        let partialBase = SendablePointer(partials), outBase = SendablePointer(out)
        BLASThreads.with(1) {
            pool.run(workers: workers) { w in
                let run = ThreadPool.chunk(w, of: workers, count: tiles)
                let columns = (run.lowerBound * tile)..<Swift.min(n, run.upperBound * tile)
                guard !columns.isEmpty else { return }
                if w == 0 {
                    product(columns, into: outBase.pointer, beta: 1)
                } else {
                    product(columns, into: partialBase.pointer + (w - 1) * a * d, beta: 0)
                }
            }
        }
        for w in 1..<workers {
            T.axpy(n: a * d, alpha: 1, x: partials + (w - 1) * a * d, incx: 1, y: out, incy: 1)
        }
    }

    /// `∂L/∂p_i += Σ_k (W_G,ik − 2 W_S,ik) m_k` over the nonzero weights of rows `rows`, memory
    /// rows in ascending order, each memory row added to every gradient row that weights it
    /// while it is in cache.
    private static func sparseMemoryBackward(rows: Range<Int>, a: Int, r: Int, n: Int, d: Int,
                                             gram: UnsafePointer<T>?, squared: UnsafePointer<T>?,
                                             memory m: UnsafePointer<T>, into out: UnsafeMutablePointer<T>) {
        // Compressed columns of this row range: for each memory column, its (row, weight) entries.
        var counts = [Int](repeating: 0, count: n + 1)
        @inline(__always) func weight(_ i: Int, _ k: Int) -> T {
            var w: T = 0
            if let gram { w += gram[i * r + a + k] }
            if let squared { w -= 2 * squared[i * r + a + k] }
            return w
        }
        for i in rows {
            for k in 0..<n where weight(i, k) != 0 { counts[k + 1] += 1 }
        }
        for k in 0..<n { counts[k + 1] += counts[k] }
        let total = counts[n]
        guard total > 0 else { return }
        var fill = counts
        var entryRows = [Int](repeating: 0, count: total)
        var entryWeights = [T](repeating: 0, count: total)
        for i in rows {
            for k in 0..<n {
                let w = weight(i, k)
                guard w != 0 else { continue }
                entryRows[fill[k]] = i
                entryWeights[fill[k]] = w
                fill[k] += 1
            }
        }
        for k in 0..<n where counts[k + 1] > counts[k] {
            let source = m + k * d
            for e in counts[k]..<counts[k + 1] {
                T.axpy(n: d, alpha: entryWeights[e], x: source, incx: 1, y: out + entryRows[e] * d, incy: 1)
            }
        }
    }
}
