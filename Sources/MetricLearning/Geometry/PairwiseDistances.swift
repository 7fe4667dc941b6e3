import DMLNumerics

/// The dense pairwise geometry of a point set, from one Gram matrix.
///
/// For the rows `x_1..x_B` of `X` (B × d):
/// - Gram matrix `G = X·Xᵀ` (one SYRK), `G_ij = x_i · x_j` — the cosine similarity when rows
///   are L2-normalized;
/// - squared distances `D²_ij = ‖x_i‖² + ‖x_j‖² − 2 G_ij`, clamped at 0 (rounding can make it
///   slightly negative), with `D²_ii = 0` exactly;
/// - distances `D_ij = √D²_ij`.
///
/// Numerical note: `‖x_i‖² + ‖x_j‖² − 2 G_ij` subtracts nearly equal numbers when `x_i ≈ x_j`,
/// so its rounding error is about `ε (‖x_i‖² + ‖x_j‖²)` (ε the unit roundoff: 6·10⁻⁸ in Float,
/// 1·10⁻¹⁶ in Double) whatever the true distance; for unit vectors a true `D²` below ~10⁻⁷
/// (Float) is noise and may come out negative. The clamp at 0 keeps `√` and the losses'
/// margins defined; the diagonal is set to exactly 0 rather than computed. The gradient from
/// `D²` is that of the unclamped formula (the clamp only moves values of the size of that
/// noise); the gradient from `D` is 0 where `D = 0` (below).
///
/// `backward` turns the gradient of a loss with respect to any of `G`, `D²` and `D` into the
/// gradient with respect to `X` with a single GEMM:
/// - from `G`:  `∂L/∂X = (W + Wᵀ) X` for `W = ∂L/∂G`;
/// - from `D²`: `∂L/∂x_k = 2 Σ_j S_kj (x_k − x_j)` with `S = W + Wᵀ`, i.e.
///   `2 (diag(S·1) − S) X`;
/// - from `D`:  as from `D²` with `W_ij / (2 D_ij)`. Where `D_ij = 0` (coinciding points) the
///   distance is not differentiable; its gradient is taken as 0 (the subgradient at the
///   minimum), so it is never NaN.
public struct PairwiseDistances<T: BLASScalar>: Sendable {
    /// The points (rows).
    public let points: Matrix<T>
    /// `‖x_i‖²`.
    public let squaredNorms: [T]
    /// `G = X·Xᵀ`.
    public let gram: Matrix<T>
    /// `D²`, clamped at 0, zero diagonal.
    public let squared: Matrix<T>
    /// `D = √D²`.
    public let distances: Matrix<T>

    /// Computes `G`, `D²` and `D` for the rows of `points`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public init(_ points: Matrix<T>) {
        self.points = points
        let n = points.rows
        let norms = points.rowSquaredNorms()
        let g = points.gram()
        var sq = Matrix<T>(rows: n, columns: n)
        var dist = Matrix<T>(rows: n, columns: n)
        g.withUnsafeBufferPointer { pg in
            sq.withUnsafeMutableBufferPointer { ps in
                dist.withUnsafeMutableBufferPointer { pd in
                    for i in 0..<n {
                        for j in 0..<n where j != i {
                            let v = Swift.max(norms[i] + norms[j] - 2 * pg[i * n + j], 0)
                            ps[i * n + j] = v
                            pd[i * n + j] = v.squareRoot()
                        }
                    }
                }
            }
        }
        self.squaredNorms = norms
        self.gram = g
        self.squared = sq
        self.distances = dist
    }

    /// The number of points.
    public var count: Int { points.rows }

    /// `∂L/∂X` from the gradients of `L` with respect to the entries of `G`, `D²` and `D`
    /// (any of them may be omitted; each is B × B and need not be symmetric). See the type's
    /// documentation for the formulas. One GEMM in all.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(
        gram wG: Matrix<T>? = nil, squared wS: Matrix<T>? = nil, distances wD: Matrix<T>? = nil
    ) -> Matrix<T> {
        let n = count
        // M = (W_G + W_Gᵀ) − 2 (S − diag(S·1)), with S = W' + W'ᵀ and W' = W_D² + W_D / (2D).
        var m = Matrix<T>(rows: n, columns: n)
        var diagonal = [T](repeating: 0, count: n)
        m.withUnsafeMutableBufferPointer { pm in
            // M is symmetric: each entry below the diagonal is computed once and mirrored.
            if let wG {
                precondition(wG.rows == n && wG.columns == n, "gram gradient must be \(n)×\(n)")
                wG.withUnsafeBufferPointer { pw in
                    for i in 0..<n {
                        pm[i * n + i] = 2 * pw[i * n + i]
                        for j in 0..<i {
                            let s = pw[i * n + j] + pw[j * n + i]
                            pm[i * n + j] = s
                            pm[j * n + i] = s
                        }
                    }
                }
            }
            guard wS != nil || wD != nil else { return }
            var w = wS ?? Matrix<T>(rows: n, columns: n)
            precondition(w.rows == n && w.columns == n, "squared-distance gradient must be \(n)×\(n)")
            if let wD {
                precondition(wD.rows == n && wD.columns == n, "distance gradient must be \(n)×\(n)")
                w.withUnsafeMutableBufferPointer { pw in
                    wD.withUnsafeBufferPointer { pwd in
                        distances.withUnsafeBufferPointer { pd in
                            for k in 0..<(n * n) where pd[k] > 0 { pw[k] += pwd[k] / (2 * pd[k]) }
                        }
                    }
                }
            }
            w.withUnsafeBufferPointer { pw in
                for i in 0..<n {
                    for j in 0..<i {
                        let s = 2 * (pw[i * n + j] + pw[j * n + i])
                        pm[i * n + j] -= s
                        pm[j * n + i] -= s
                        diagonal[i] += s
                        diagonal[j] += s
                    }
                }
            }
            for i in 0..<n { pm[i * n + i] += diagonal[i] }
        }
        return Matrix.product(m, points)
    }
}
