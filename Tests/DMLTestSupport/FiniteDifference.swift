import DMLNumerics

/// Central finite differences in `Double`, the independent oracle every analytic gradient in
/// this package is checked against.
public enum FiniteDifference {
    /// `∂f/∂x_ij ≈ (f(x + h·e_ij) − f(x − h·e_ij)) / 2h` for every element of `x`.
    public static func gradient(
        of f: (Matrix<Double>) -> Double, at x: Matrix<Double>, step h: Double = 1e-6
    ) -> Matrix<Double> {
        var g = Matrix<Double>(rows: x.rows, columns: x.columns)
        var probe = x
        for i in 0..<x.rows {
            for j in 0..<x.columns {
                let original = probe[i, j]
                probe[i, j] = original + h
                let plus = f(probe)
                probe[i, j] = original - h
                let minus = f(probe)
                probe[i, j] = original
                g[i, j] = (plus - minus) / (2 * h)
            }
        }
        return g
    }

    /// `max_ij |a_ij − n_ij| / max(1, |n_ij|)`: the worst relative error of an analytic gradient
    /// `a` against a numeric one `n` (absolute where the gradient is small).
    public static func worstError(analytic a: Matrix<Double>, numeric n: Matrix<Double>) -> Double {
        precondition(a.rows == n.rows && a.columns == n.columns, "gradient shapes differ")
        var worst = 0.0
        for k in 0..<a.count {
            let scale = max(1, abs(n.elements[k]))
            worst = max(worst, abs(a.elements[k] - n.elements[k]) / scale)
        }
        return worst
    }

    /// The worst error of `analytic` against central differences of `f` at `x`.
    public static func check(
        _ f: (Matrix<Double>) -> Double, analytic: Matrix<Double>, at x: Matrix<Double>, step h: Double = 1e-6
    ) -> Double {
        worstError(analytic: analytic, numeric: gradient(of: f, at: x, step: h))
    }
}
