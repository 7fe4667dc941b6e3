import CVectorMath
import DMLNumerics

/// Vectorized elementwise `exp` over buffers, for the loss passes over `A × N` matrices where a
/// scalar libm call per entry would cost about as much as the batch × memory GEMM.
///
/// On x86-64 Linux it runs glibc's libmvec (the AVX2 + FMA variant where the CPU has them, the
/// SSE one otherwise; `variant`), elsewhere scalar libm. libmvec's results are within
/// `expUlpBound` (4) ulp of the correctly rounded `eˣ`, so they may differ from a scalar `exp`
/// by that much; `exp(0) = 1`, `exp(−∞) = 0` exactly. The variant is fixed per process and every
/// element goes through the same vector function wherever it sits in the buffer (the tail
/// through a padded copy), so one machine gives the same numbers for the same inputs.
public enum VectorMath {
    /// glibc's documented accuracy bound of its vector `exp` and `expf`, in ulp.
    public static let expUlpBound = 4

    /// The implementation in use: `"libmvec-avx2"`, `"libmvec-sse"` or `"scalar"`.
    public static var variant: String {
        switch dml_vexp_variant() {
        case 2: "libmvec-avx2"
        case 1: "libmvec-sse"
        default: "scalar"
        }
    }

    /// `v[k] ← exp(v[k])` for `k < count`, vectorized for `Float` and `Double` (scalar
    /// `T.exp` for any other scalar type).
    @inline(__always)
    public static func exponentiate<T: BLASScalar>(_ v: UnsafeMutablePointer<T>, count: Int) {
        guard count > 0 else { return }
        if T.self == Float.self {
            let p = UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self)
            dml_vexpf(count, p, p)
        } else if T.self == Double.self {
            let p = UnsafeMutableRawPointer(v).assumingMemoryBound(to: Double.self)
            dml_vexp(count, p, p)
        } else {
            for k in 0..<count { v[k] = T.exp(v[k]) }
        }
    }

    /// `StableMath.logOnePlusSumExp` with the vectorized `exp`: returns
    /// `L = log(1 + Σ_k exp(v_k))` and overwrites `v_k` with `∂L/∂v_k = exp(v_k − L)`, shifted
    /// by `m = max(0, max_k v_k)`; the sum runs in the same order. It equals the scalar version
    /// within the `exp` bound (a few ulp per term). `L = 0` with no term.
    @inline(__always)
    static func logOnePlusSumExp<T: BLASScalar>(overwritingWithWeights v: UnsafeMutablePointer<T>, count: Int) -> T {
        guard count > 0 else { return 0 }
        var m: T = 0
        for k in 0..<count where v[k] > m { m = v[k] }
        for k in 0..<count { v[k] -= m }
        exponentiate(v, count: count)
        var sum = T.exp(-m)
        for k in 0..<count { sum += v[k] }
        let inverse = 1 / sum
        for k in 0..<count { v[k] *= inverse }
        return m + T.log(sum)
    }
}
