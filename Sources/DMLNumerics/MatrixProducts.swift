/// Matrix products through BLAS.
extension Matrix {
    /// `C ← α·op(A)·op(B) + β·C` (BLAS GEMM). Shapes are checked.
    @inlinable
    public static func gemm(
        _ a: Matrix, _ b: Matrix, transA: Transpose = .none, transB: Transpose = .none,
        alpha: Scalar = 1, beta: Scalar = 0, into c: inout Matrix
    ) {
        let (m, k) = transA == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        let (kb, n) = transB == .none ? (b.rows, b.columns) : (b.columns, b.rows)
        precondition(k == kb, "GEMM inner dimensions differ: \(k) vs \(kb)")
        precondition(c.rows == m && c.columns == n, "GEMM output is \(c.rows)×\(c.columns), expected \(m)×\(n)")
        guard m > 0, n > 0 else { return }
        if k == 0 {
            if beta == 0 { c = Matrix(rows: m, columns: n) } else if beta != 1 { c = beta * c }
            return
        }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(transA, transB, m: m, n: n, k: k, alpha: alpha,
                                a: pa.baseAddress!, lda: a.columns, b: pb.baseAddress!, ldb: b.columns,
                                beta: beta, c: pc.baseAddress!, ldc: n)
                }
            }
        }
    }

    /// `op(A)·op(B)` as a new matrix.
    @inlinable
    public static func product(
        _ a: Matrix, _ b: Matrix, transA: Transpose = .none, transB: Transpose = .none
    ) -> Matrix {
        let m = transA == .none ? a.rows : a.columns
        let n = transB == .none ? b.columns : b.rows
        var c = Matrix(rows: m, columns: n)
        gemm(a, b, transA: transA, transB: transB, into: &c)
        return c
    }

    /// `A·B`.
    public static func * (a: Matrix, b: Matrix) -> Matrix { product(a, b) }

    /// The Gram matrix `G = X·Xᵀ` of the rows, `G_ij = x_i · x_j`, computed by one SYRK on the
    /// lower triangle and mirrored, so it is exactly symmetric.
    @inlinable
    public func gram() -> Matrix {
        var g = Matrix(rows: rows, columns: rows)
        guard rows > 0 else { return g }
        if columns > 0 {
            withUnsafeBufferPointer { px in
                g.withUnsafeMutableBufferPointer { pg in
                    Scalar.syrkLower(.none, n: rows, k: columns, alpha: 1, a: px.baseAddress!, lda: columns,
                                     beta: 0, c: pg.baseAddress!, ldc: rows)
                }
            }
        }
        g.symmetrizeFromLower()
        return g
    }

    /// Copies the lower triangle onto the upper one (`A_ij ← A_ji` for `i < j`).
    @inlinable
    public mutating func symmetrizeFromLower() {
        precondition(rows == columns, "symmetrizeFromLower needs a square matrix")
        let n = rows
        withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                for j in (i + 1)..<Swift.max(n, i + 1) { p[i * n + j] = p[j * n + i] }
            }
        }
    }
}
