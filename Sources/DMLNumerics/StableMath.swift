import RealModule

/// The numerically stable reductions of the losses, in one place.
///
/// Numerical note: each shifts by the largest exponent before exponentiating,
/// `log Σ exp(v_k) = m + log Σ exp(v_k − m)`, so no term overflows (every `exp` argument is
/// ≤ 0) and the largest term is exactly 1, so the sum never underflows to 0 and its log is
/// finite. The lifted structured loss applies the same shift per row inline, with
/// `m = α − min_k D_ik` (docs/losses.md).
public enum StableMath {
    /// `L = log(1 + Σ_k exp(v_k))`, the "soft-plus of many" of the N-pair, angular and
    /// multi-similarity losses, with its gradient: returns `L` and overwrites `v_k` with
    /// `∂L/∂v_k = exp(v_k) / (1 + Σ exp(v)) = exp(v_k − L)`. Shifted by `m = max(0, max_k v_k)`
    /// (the implicit term `1 = exp(0)` takes part in the max); one `exp` per term. `L = 0` with
    /// no term.
    @inlinable @inline(__always)
    public static func logOnePlusSumExp<T: BLASScalar>(overwritingWithWeights v: UnsafeMutablePointer<T>, count: Int) -> T {
        guard count > 0 else { return 0 }
        var m: T = 0
        for k in 0..<count where v[k] > m { m = v[k] }
        var sum = T.exp(-m)
        for k in 0..<count {
            let e = T.exp(v[k] - m)
            v[k] = e
            sum += e
        }
        let inverse = 1 / sum
        for k in 0..<count { v[k] *= inverse }
        return m + T.log(sum)
    }

    /// `log(exp(a) + exp(b)) = max(a, b) + log1p(exp(min(a, b) − max(a, b)))`: the shift makes
    /// the `exp` argument ≤ 0, and `log1p` keeps the small correction exact when the two differ
    /// by much.
    @inlinable @inline(__always)
    public static func logAddExp<T: BLASScalar>(_ a: T, _ b: T) -> T {
        let big = Swift.max(a, b), small = Swift.min(a, b)
        return big + T.log(onePlus: T.exp(small - big))
    }
}
