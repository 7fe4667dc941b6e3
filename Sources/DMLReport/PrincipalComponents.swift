import DMLNumerics
import Foundation

/// The leading principal components of a set of points (the rows of an N × d matrix).
///
/// The covariance `C = (X − 1μᵀ)ᵀ(X − 1μᵀ) / (N − 1)` is one GEMM (d × d, in Double). Its top
/// eigenvectors come from power iteration with deflation: `v ← Cv / ‖Cv‖` until
/// `‖v − v_prev‖ < 10⁻¹¹` (at most 10 000 steps; the error shrinks by λ₂/λ₁ per step), `λ = vᵀCv`, then `C ← C − λvvᵀ` for the
/// next one. The start vector is seeded, and each component's sign is fixed so that its
/// largest-magnitude entry is positive, so the result is deterministic.
public struct PrincipalComponents: Sendable {
    /// The mean point μ (length d).
    public let mean: [Double]
    /// The components as the rows of a k × d matrix of unit vectors, by decreasing variance.
    public let components: Matrix<Double>
    /// The variance along each component (the eigenvalues λ₁ ≥ λ₂ ≥ …).
    public let variances: [Double]
    /// The total variance `trace(C)`, so `variances[i] / totalVariance` is the explained share.
    public let totalVariance: Double

    /// The convergence threshold on `‖v − v_prev‖`.
    static let tolerance = 1e-11
    /// The most power-iteration steps per component.
    static let maxIterations = 10_000

    /// Fits the top `count` components of the rows of `points` (at least 2 rows).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public init<T: BLASScalar>(fitting points: Matrix<T>, count: Int = 2, seed: UInt64 = 0) {
        let n = points.rows
        let d = points.columns
        let k = min(count, d)
        var centred = points.converted(to: Double.self)
        var mean = [Double](repeating: 0, count: d)
        centred.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { for j in 0..<d { mean[j] += p[i * d + j] } }
            for j in 0..<d { mean[j] /= Double(max(n, 1)) }
            for i in 0..<n { for j in 0..<d { p[i * d + j] -= mean[j] } }
        }
        var covariance = Matrix<Double>(rows: d, columns: d)
        Matrix.gemm(centred, centred, transA: .transpose, alpha: 1 / Double(max(n - 1, 1)), into: &covariance)
        let total = (0..<d).reduce(0.0) { $0 + covariance[$1, $1] }

        var generator = SeededGenerator(seed: seed)
        var components = Matrix<Double>(rows: k, columns: d)
        var variances = [Double]()
        for c in 0..<k {
            var v = Matrix<Double>(rows: d, columns: 1, elements: (0..<d).map { _ in generator.nextNormal() })
            v = PrincipalComponents.normalized(v)
            for _ in 0..<PrincipalComponents.maxIterations {
                let next = PrincipalComponents.normalized(Matrix.product(covariance, v))
                let change = zip(next.elements, v.elements).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
                v = next
                if change < PrincipalComponents.tolerance { break }
            }
            if let big = v.elements.indices.max(by: { abs(v.elements[$0]) < abs(v.elements[$1]) }), v.elements[big] < 0 {
                v = -1 * v
            }
            let lambda = zip(Matrix.product(covariance, v).elements, v.elements).reduce(0.0) { $0 + $1.0 * $1.1 }
            variances.append(max(lambda, 0))
            components.setRow(c, v.elements)
            Matrix.gemm(v, v, transB: .transpose, alpha: -lambda, beta: 1, into: &covariance)
        }
        self.mean = mean
        self.components = components
        self.variances = variances
        self.totalVariance = total
    }

    /// The coordinates of the rows of `points` on the components: `(X − 1μᵀ)·Wᵀ`, N × k.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func project<T: BLASScalar>(_ points: Matrix<T>) -> Matrix<Double> {
        var centred = points.converted(to: Double.self)
        let (n, d) = (centred.rows, centred.columns)
        centred.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { for j in 0..<d { p[i * d + j] -= mean[j] } }
        }
        return Matrix.product(centred, components, transB: .transpose)
    }

    private static func normalized(_ v: Matrix<Double>) -> Matrix<Double> {
        let norm = v.elements.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else {
            var e = Matrix<Double>(rows: v.rows, columns: 1)
            if v.rows > 0 { e[0, 0] = 1 }
            return e
        }
        return (1 / norm) * v
    }
}
