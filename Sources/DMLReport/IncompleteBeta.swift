import Foundation

/// The regularized incomplete beta function
/// `I_x(a, b) = B(x; a, b) / B(a, b) = (1 / B(a, b)) ∫₀ˣ t^(a−1) (1 − t)^(b−1) dt`.
public enum IncompleteBeta {
    /// `I_x(a, b)` for `a, b > 0` and `0 ≤ x ≤ 1` (NaN outside).
    ///
    /// Evaluated by the continued fraction of Numerical Recipes §6.4 (modified Lentz), on `x`
    /// when `x < (a + 1)/(a + b + 2)` and otherwise through `I_x(a, b) = 1 − I_{1−x}(b, a)`, where
    /// it converges fast; the prefactor `x^a (1−x)^b / (a B(a, b))` uses `lgamma`.
    public static func regularized(x: Double, a: Double, b: Double) -> Double {
        guard a > 0, b > 0, x >= 0, x <= 1, x.isFinite else { return .nan }
        if x == 0 { return 0 }
        if x == 1 { return 1 }
        let logPrefactor = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        let prefactor = exp(logPrefactor)
        if x < (a + 1) / (a + b + 2) {
            return prefactor * continuedFraction(x: x, a: a, b: b) / a
        }
        return 1 - prefactor * continuedFraction(x: 1 - x, a: b, b: a) / b
    }

    /// The continued fraction `1 / (1 + d₁ / (1 + d₂ / (1 + …)))` with
    /// `d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1))`, `d_{2m} = m(b−m)x / ((a+2m−1)(a+2m))`.
    private static func continuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        let epsilon = 1e-15
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return h
    }
}
