import RealModule

/// Numerically stable reductions used by the losses.
public enum StableMath {
    /// `log Σ_i exp(v_i)`, computed as `m + log Σ_i exp(v_i − m)` with `m = max_i v_i`, so it
    /// neither overflows nor underflows. Returns `-∞` for an empty input.
    @inlinable
    public static func logSumExp<T: BLASScalar>(_ values: UnsafeBufferPointer<T>) -> T {
        guard let m = values.max() else { return -T.infinity }
        if m == -T.infinity { return -T.infinity }
        var s: T = 0
        for v in values { s += T.exp(v - m) }
        return m + T.log(s)
    }

    /// `log Σ_i exp(v_i)` of an array (see the pointer version).
    @inlinable
    public static func logSumExp<T: BLASScalar>(_ values: [T]) -> T {
        values.withUnsafeBufferPointer { logSumExp($0) }
    }

    /// `softplus(x) = log(1 + exp(x))`, stable for large `|x|`: `max(x, 0) + log1p(exp(−|x|))`.
    @inlinable
    public static func softplus<T: BLASScalar>(_ x: T) -> T {
        Swift.max(x, 0) + T.log(onePlus: T.exp(-Swift.abs(x)))
    }

    /// The logistic function `σ(x) = 1 / (1 + exp(−x))`, the derivative of `softplus`.
    @inlinable
    public static func sigmoid<T: BLASScalar>(_ x: T) -> T {
        if x >= 0 { return 1 / (1 + T.exp(-x)) }
        let e = T.exp(x)
        return e / (1 + e)
    }

    /// `log(1 + Σ_i exp(v_i))`, the "soft-plus of many" that N-pair, angular and
    /// multi-similarity losses use, computed with the max shift including the implicit 0.
    @inlinable
    public static func logOnePlusSumExp<T: BLASScalar>(_ values: UnsafeBufferPointer<T>) -> T {
        let m = Swift.max(values.max() ?? 0, 0)
        var s = T.exp(-m)
        for v in values { s += T.exp(v - m) }
        return m + T.log(s)
    }
}
