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
///   `A × N` block by one GEMM `P·Mᵀ` written in place (leading dimension `R`); the `(A + N)²`
///   matrix is never formed.
/// - `D²_ij = ‖p_i‖² + ‖r_j‖² − 2 G_ij` clamped at 0, `D = √D²`, as in `PairwiseDistances`,
///   formed for the memory block only when asked for.
///
/// `backward` takes `∂L/∂G` and/or `∂L/∂D²` (both `A × R`) and returns `∂L/∂P` only (memory
/// points are constants):
/// - the `A × A` block as `PairwiseDistances.backward` (one GEMM);
/// - the memory block `W` (`A × N`, with `W_G`, `W_S` its gram and squared-distance parts):
///   `∂L/∂p_i += Σ_k (W_G,ik − 2 W_S,ik) m_k + 2 (Σ_k W_S,ik) p_i`. Dense: one GEMM per part
///   that is present, reading the weights in place. Sparse (the hard-negative-pair-mining
///   losses, whose memory block holds one weight per mining set and class): when at most
///   `sparseDensity` of the block is nonzero, each memory row `m_k` with a nonzero weight is
///   added to the gradient rows of its nonzero entries (`axpy`), columns in ascending order —
///   `nnz · d` multiply-adds instead of `A · N · d`.
///
/// **Threads.** With a `pool` of more than one thread, the memory-block GEMM of the forward, the
/// `D²`/`D` pass and the memory part of the backward split the `A` rows into the pool's
/// contiguous chunks, one single-threaded BLAS call per worker (`BLASThreads.with(1)`); every
/// output row is written by one worker, so nothing is reduced across workers, and a given thread
/// count gives the same numbers run after run. The sparse backward adds each row's terms in
/// ascending column order whatever the split, so it is identical at every thread count.
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
         pool: ThreadPool? = nil) {
        let base = PairwiseDistances(points)
        self.base = base
        self.pool = pool
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
        // ‖m_k‖² only for D²/D: a pass over the whole memory (N × d), not needed for G alone.
        let memoryNorms = needsSquared || needsDistances ? memory.rowSquaredNorms() : []
        // Every entry of G, D², D is written below (the A × A block copied, the memory block by
        // the GEMM with β = 0 and the D²/D pass): no zero fill first.
        var g = Self.unfilled(rows: a, columns: r)
        var sq = Self.unfilled(rows: needsSquared ? a : 0, columns: needsSquared ? r : 0)
        var dist = Self.unfilled(rows: needsDistances ? a : 0, columns: needsDistances ? r : 0)
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
                            memoryNorms.withUnsafeBufferPointer { mnBuffer in
                                let mn = mnBuffer.baseAddress ?? UnsafePointer(pm.baseAddress!)  // unread without D²/D
                                norms.withUnsafeBufferPointer { pn in
                                    // Rows `rows` of the memory block: GEMM, then D² and D.
                                    let block = { (rows: Range<Int>) in
                                        guard !rows.isEmpty else { return }
                                        T.gemm(.none, .transpose, m: rows.count, n: n, k: d, alpha: 1,
                                               a: pp.baseAddress! + rows.lowerBound * d, lda: d,
                                               b: pm.baseAddress!, ldb: d, beta: 0,
                                               c: gOut.pointer + rows.lowerBound * r + a, ldc: r)
                                        for i in rows {
                                            Self.memoryDistances(row: i * r + a, norm: pn[i], memoryNorms: mn, count: n,
                                                                 gram: gOut.pointer, squared: sOut?.pointer, distances: dOut?.pointer)
                                        }
                                    }
                                    Self.splitRows(a, pool: pool, block)
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
    private static func unfilled(rows: Int, columns: Int) -> Matrix<T> {
        let count = rows * columns
        let elements = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        return Matrix(rows: rows, columns: columns, elements: elements)
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
        // Σ_k W_S,ik per row and the number of nonzero memory weights, in one pass.
        var rowSums = [T](repeating: 0, count: a)
        var nonzero = 0
        func scan(_ w: Matrix<T>, sums: Bool) {
            w.withUnsafeBufferPointer { pw in
                for i in 0..<a {
                    let row = pw.baseAddress! + i * r + a
                    var total: T = 0, count = 0
                    for k in 0..<n {
                        total += row[k]
                        count += row[k] != 0 ? 1 : 0
                    }
                    if sums { rowSums[i] = total }
                    nonzero += count
                }
            }
        }
        if let wG { scan(wG, sums: false) }
        if let wS { scan(wS, sums: true) }
        let parts = (wG == nil ? 0 : 1) + (wS == nil ? 0 : 1)
        let sparse: Bool
        switch strategy {
        case .automatic: sparse = Double(nonzero) <= Self.sparseDensity * Double(parts * a * n)
        case .dense: sparse = false
        case .sparse: sparse = true
        }
        let pool = self.pool
        result.withUnsafeMutableBufferPointer { po in
            memory.withUnsafeBufferPointer { pm in
                base.points.withUnsafeBufferPointer { pp in
                    let out = SendablePointer(po.baseAddress!)
                    let m = pm.baseAddress!, p = pp.baseAddress!
                    Self.withOptionalPointer(wG) { gPointer in
                        Self.withOptionalPointer(wS) { sPointer in
                            Self.splitRows(a, pool: pool) { rows in
                                if sparse {
                                    Self.sparseMemoryBackward(rows: rows, a: a, r: r, n: n, d: d, gram: gPointer, squared: sPointer,
                                                              memory: m, into: out.pointer)
                                } else {
                                    if let gPointer {
                                        T.gemm(.none, .none, m: rows.count, n: d, k: n, alpha: 1, a: gPointer + rows.lowerBound * r + a,
                                               lda: r, b: m, ldb: d, beta: 1, c: out.pointer + rows.lowerBound * d, ldc: d)
                                    }
                                    if let sPointer {
                                        T.gemm(.none, .none, m: rows.count, n: d, k: n, alpha: -2, a: sPointer + rows.lowerBound * r + a,
                                               lda: r, b: m, ldb: d, beta: 1, c: out.pointer + rows.lowerBound * d, ldc: d)
                                    }
                                }
                                guard sPointer != nil else { return }
                                for i in rows {
                                    let s = 2 * rowSums[i]
                                    guard s != 0 else { continue }
                                    T.axpy(n: d, alpha: s, x: p + i * d, incx: 1, y: out.pointer + i * d, incy: 1)
                                }
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
