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
    /// `D²`, `A × R`.
    let squared: Matrix<T>
    /// `D`, `A × R`.
    let distances: Matrix<T>

    /// The geometry of `points` against themselves and `memory` (nil or empty: none).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    init(_ points: Matrix<T>, memory: Matrix<T>?) {
        let base = PairwiseDistances(points)
        self.base = base
        guard let memory, memory.rows > 0 else {
            self.memory = Matrix(rows: 0, columns: points.columns)
            gram = base.gram
            squared = base.squared
            distances = base.distances
            return
        }
        precondition(memory.columns == points.columns, "memory and points must have the same dimension")
        self.memory = memory
        let a = points.rows, n = memory.rows, r = a + n, d = points.columns
        let memoryNorms = memory.rowSquaredNorms()
        var g = Matrix<T>(rows: a, columns: r)
        var sq = Matrix<T>(rows: a, columns: r)
        var dist = Matrix<T>(rows: a, columns: r)
        g.withUnsafeMutableBufferPointer { pg in
            sq.withUnsafeMutableBufferPointer { ps in
                dist.withUnsafeMutableBufferPointer { pd in
                    base.gram.withUnsafeBufferPointer { bg in
                        base.squared.withUnsafeBufferPointer { bs in
                            base.distances.withUnsafeBufferPointer { bd in
                                for i in 0..<a {
                                    for j in 0..<a {
                                        pg[i * r + j] = bg[i * a + j]
                                        ps[i * r + j] = bs[i * a + j]
                                        pd[i * r + j] = bd[i * a + j]
                                    }
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
                    for i in 0..<a {
                        let row = i * r + a
                        for k in 0..<n {
                            let v = Swift.max(norms[i] + memoryNorms[k] - 2 * pg[row + k], 0)
                            ps[row + k] = v
                            pd[row + k] = v.squareRoot()
                        }
                    }
                }
            }
        }
        gram = g
        squared = sq
        distances = dist
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
            return Matrix(rows: a, columns: a) { i, j in w[i, j] }
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
