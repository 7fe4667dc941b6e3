import DMLNumerics

/// The geometry between `A` points (a batch or an augmented batch) and the reference set
/// "the points themselves, then `N` memory points": matrices of `A` rows and `R = A + N` columns,
/// column `j < A` being point `j` and column `A + k` memory row `k`.
///
/// - `G = P·[P; M]ᵀ`: the `A × A` block by one SYRK (exactly `PairwiseDistances(P)`), the
///   `A × N` block by one GEMM `P·Mᵀ` written in place (leading dimension `R`); the `(A + N)²`
///   matrix is never formed.
/// - `D²_ij = ‖p_i‖² + ‖r_j‖² − 2 G_ij` clamped at 0, `D = √D²`, as in `PairwiseDistances`.
///
/// `backward` takes `∂L/∂G` and/or `∂L/∂D²` (both `A × R`) and returns `∂L/∂P` only (memory
/// points are constants):
/// - the `A × A` block as `PairwiseDistances.backward` (one GEMM);
/// - the memory block `W` (`A × N`, with `W_G`, `W_S` its gram and squared-distance parts):
///   `∂L/∂p_i += Σ_k (W_G,ik − 2 W_S,ik) m_k + 2 (Σ_k W_S,ik) p_i`, one GEMM per part that is
///   present, reading the weights in place.
///
/// With an empty memory every matrix and every gradient is bit-identical to `PairwiseDistances`.
struct ReferenceGeometry<T: BLASScalar> {
    /// The geometry of the points among themselves.
    let base: PairwiseDistances<T>
    /// The memory rows, `N × d` (0 rows without memory).
    let memory: Matrix<T>
    /// `G`, `A × R`.
    let gram: Matrix<T>
    /// `D²`, `A × R` (only if asked for, or without memory).
    private let storedSquared: Matrix<T>?
    /// `D`, `A × R` (only if asked for, or without memory).
    private let storedDistances: Matrix<T>?

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
    init(_ points: Matrix<T>, memory: Matrix<T>?, distances needsDistances: Bool = true, squared needsSquared: Bool = true) {
        let base = PairwiseDistances(points)
        self.base = base
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
        let memoryNorms = memory.rowSquaredNorms()
        var g = Matrix<T>(rows: a, columns: r)
        var sq = Matrix<T>(rows: needsSquared ? a : 0, columns: needsSquared ? r : 0)
        var dist = Matrix<T>(rows: needsDistances ? a : 0, columns: needsDistances ? r : 0)
        g.withUnsafeMutableBufferPointer { pg in
            sq.withUnsafeMutableBufferPointer { ps in
                dist.withUnsafeMutableBufferPointer { pd in
                    base.gram.withUnsafeBufferPointer { bg in
                        base.squared.withUnsafeBufferPointer { bs in
                            base.distances.withUnsafeBufferPointer { bd in
                                for i in 0..<a {
                                    for j in 0..<a { pg[i * r + j] = bg[i * a + j] }
                                    if needsSquared { for j in 0..<a { ps[i * r + j] = bs[i * a + j] } }
                                    if needsDistances { for j in 0..<a { pd[i * r + j] = bd[i * a + j] } }
                                }
                            }
                        }
                    }
                    points.withUnsafeBufferPointer { pp in
                        memory.withUnsafeBufferPointer { pm in
                            T.gemm(.none, .transpose, m: a, n: n, k: d, alpha: 1, a: pp.baseAddress!, lda: d,
                                   b: pm.baseAddress!, ldb: d, beta: 0, c: pg.baseAddress! + a, ldc: r)
                        }
                    }
                    let norms = base.squaredNorms
                    memoryNorms.withUnsafeBufferPointer { mn in
                        for i in 0..<a where needsSquared || needsDistances {
                            let row = i * r + a
                            let ni = norms[i]
                            let gRow = pg.baseAddress! + row
                            switch (needsSquared, needsDistances) {
                            case (true, true):
                                let sRow = ps.baseAddress! + row, dRow = pd.baseAddress! + row
                                for k in 0..<n {
                                    let v = Swift.max(ni + mn[k] - 2 * gRow[k], 0)
                                    sRow[k] = v
                                    dRow[k] = v.squareRoot()
                                }
                            case (true, false):
                                let sRow = ps.baseAddress! + row
                                for k in 0..<n { sRow[k] = Swift.max(ni + mn[k] - 2 * gRow[k], 0) }
                            case (false, true):
                                let dRow = pd.baseAddress! + row
                                for k in 0..<n { dRow[k] = Swift.max(ni + mn[k] - 2 * gRow[k], 0).squareRoot() }
                            case (false, false):
                                break
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

    /// `A`, the number of points (rows).
    var rows: Int { base.count }
    /// `R = A + N`, the number of reference columns.
    var columns: Int { base.count + memory.rows }
    /// Whether there are memory columns.
    var hasMemory: Bool { memory.rows > 0 }

    /// `∂L/∂P` from `∂L/∂G` and/or `∂L/∂D²` over the `A × R` entries (see the type's documentation).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(gram wG: Matrix<T>? = nil, squared wS: Matrix<T>? = nil) -> Matrix<T> {
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
        result.withUnsafeMutableBufferPointer { po in
            memory.withUnsafeBufferPointer { pm in
                if let wG {
                    wG.withUnsafeBufferPointer { pw in
                        T.gemm(.none, .none, m: a, n: d, k: n, alpha: 1, a: pw.baseAddress! + a, lda: r,
                               b: pm.baseAddress!, ldb: d, beta: 1, c: po.baseAddress!, ldc: d)
                    }
                }
                if let wS {
                    wS.withUnsafeBufferPointer { pw in
                        T.gemm(.none, .none, m: a, n: d, k: n, alpha: -2, a: pw.baseAddress! + a, lda: r,
                               b: pm.baseAddress!, ldb: d, beta: 1, c: po.baseAddress!, ldc: d)
                        base.points.withUnsafeBufferPointer { pp in
                            for i in 0..<a {
                                var total: T = 0
                                for k in 0..<n { total += pw[i * r + a + k] }
                                let s = 2 * total
                                guard s != 0 else { continue }
                                for c in 0..<d { po[i * d + c] += s * pp[i * d + c] }
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
