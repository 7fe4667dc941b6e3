import DMLNumerics

/// `L = log(1 + Σ_k exp(v_k))` with its gradient, the "soft-plus of many" at the heart of the
/// N-pair, angular and multi-similarity losses.
enum LogOnePlusSumExp {
    /// Returns `L` and overwrites `v_k` with `∂L/∂v_k = exp(v_k) / (1 + Σ exp(v)) = exp(v_k − L)`.
    /// Shifted by `m = max(0, max_k v_k)`, so it neither overflows nor underflows; one `exp` per
    /// term. `L = 0` with no term.
    @inline(__always)
    static func valueAndWeights<T: BLASScalar>(_ v: UnsafeMutablePointer<T>, count: Int) -> T {
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
}
