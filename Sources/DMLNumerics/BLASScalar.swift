#if canImport(Glibc)
import Glibc
#endif
import CBLAS
import RealModule

/// Whether a BLAS operand is used as stored or transposed.
public enum Transpose: Sendable {
    /// `op(A) = A`.
    case none
    /// `op(A) = Aᵀ`.
    case transpose

    @usableFromInline
    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// A floating-point scalar with BLAS level-1/2/3 kernels: `Float` (the `s` routines) and
/// `Double` (the `d` routines).
///
/// All matrices are row-major with a leading dimension (`ld`) equal to the distance, in
/// elements, between the starts of two consecutive rows.
public protocol BLASScalar: Real, BinaryFloatingPoint, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// The NumPy dtype descriptor of this type in little-endian order (`"<f4"`, `"<f8"`).
    static var npyDescriptor: String { get }

    /// `C ← α·op(A)·op(B) + β·C`, with `op(A)` of size m×k and `op(B)` of size k×n.
    static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// Lower triangle of `C ← α·A·Aᵀ + β·C` for an n×k matrix `A` (`trans == .none`), or of
    /// `C ← α·Aᵀ·A + β·C` for a k×n matrix `A` (`trans == .transpose`). The strict upper
    /// triangle of `C` is left untouched.
    static func syrkLower(
        _ trans: Transpose, n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `y ← α·op(A)·x + β·y` for an m×n matrix `A`.
    static func gemv(
        _ trans: Transpose, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        x: UnsafePointer<Self>, incx: Int, beta: Self, y: UnsafeMutablePointer<Self>, incy: Int)

    /// `y ← α·x + y` over `n` elements.
    static func axpy(n: Int, alpha: Self, x: UnsafePointer<Self>, incx: Int,
                     y: UnsafeMutablePointer<Self>, incy: Int)

    /// `Σ_i x_i·y_i` over `n` elements.
    static func dot(n: Int, x: UnsafePointer<Self>, incx: Int, y: UnsafePointer<Self>, incy: Int) -> Self

    /// `x ← α·x` over `n` elements.
    static func scal(n: Int, alpha: Self, x: UnsafeMutablePointer<Self>, incx: Int)
}

extension Float: BLASScalar {
    public static var npyDescriptor: String { "<f4" }

    @inlinable
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    @inlinable
    public static func syrkLower(
        _ trans: Transpose, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_ssyrk(CblasRowMajor, CblasLower, trans.cblas, blasint(n), blasint(k),
                    alpha, a, blasint(lda), beta, c, blasint(ldc))
    }

    @inlinable
    public static func gemv(
        _ trans: Transpose, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, incx: Int, beta: Float, y: UnsafeMutablePointer<Float>, incy: Int
    ) {
        cblas_sgemv(CblasRowMajor, trans.cblas, blasint(m), blasint(n), alpha, a, blasint(lda),
                    x, blasint(incx), beta, y, blasint(incy))
    }

    @inlinable
    public static func axpy(n: Int, alpha: Float, x: UnsafePointer<Float>, incx: Int,
                            y: UnsafeMutablePointer<Float>, incy: Int) {
        cblas_saxpy(blasint(n), alpha, x, blasint(incx), y, blasint(incy))
    }

    @inlinable
    public static func dot(n: Int, x: UnsafePointer<Float>, incx: Int,
                           y: UnsafePointer<Float>, incy: Int) -> Float {
        cblas_sdot(blasint(n), x, blasint(incx), y, blasint(incy))
    }

    @inlinable
    public static func scal(n: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incx: Int) {
        cblas_sscal(blasint(n), alpha, x, blasint(incx))
    }
}

extension Double: BLASScalar {
    public static var npyDescriptor: String { "<f8" }

    @inlinable
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, transA.cblas, transB.cblas, blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    @inlinable
    public static func syrkLower(
        _ trans: Transpose, n: Int, k: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dsyrk(CblasRowMajor, CblasLower, trans.cblas, blasint(n), blasint(k),
                    alpha, a, blasint(lda), beta, c, blasint(ldc))
    }

    @inlinable
    public static func gemv(
        _ trans: Transpose, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        x: UnsafePointer<Double>, incx: Int, beta: Double, y: UnsafeMutablePointer<Double>, incy: Int
    ) {
        cblas_dgemv(CblasRowMajor, trans.cblas, blasint(m), blasint(n), alpha, a, blasint(lda),
                    x, blasint(incx), beta, y, blasint(incy))
    }

    @inlinable
    public static func axpy(n: Int, alpha: Double, x: UnsafePointer<Double>, incx: Int,
                            y: UnsafeMutablePointer<Double>, incy: Int) {
        cblas_daxpy(blasint(n), alpha, x, blasint(incx), y, blasint(incy))
    }

    @inlinable
    public static func dot(n: Int, x: UnsafePointer<Double>, incx: Int,
                           y: UnsafePointer<Double>, incy: Int) -> Double {
        cblas_ddot(blasint(n), x, blasint(incx), y, blasint(incy))
    }

    @inlinable
    public static func scal(n: Int, alpha: Double, x: UnsafeMutablePointer<Double>, incx: Int) {
        cblas_dscal(blasint(n), alpha, x, blasint(incx))
    }
}

/// The number of threads OpenBLAS uses: a process-wide setting of the BLAS library, so the
/// library never changes it on its own. Callers set it explicitly: a command for its whole run
/// (`set`), or a region of code that must run BLAS single-threaded (`with(1) { … }`, restoring
/// the previous value afterwards).
///
/// The rule dml follows: BLAS is single-threaded inside `ThreadPool` workers (each worker's GEMM
/// runs on that worker, so the threads are not oversubscribed), and multi-threaded only where one
/// large GEMM on the calling thread is the whole job.
public enum BLASThreads {
    /// Sets the OpenBLAS thread count for every later BLAS call in this process.
    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(clamping: max(1, count)))
    }

    /// The OpenBLAS thread count now in force.
    public static var current: Int { Int(openblas_get_num_threads()) }

    /// Runs `body` with OpenBLAS at `count` threads and restores the previous count afterwards
    /// (also when `body` throws). The count is one setting for the whole process: scopes opened
    /// on several threads at once restore each other's values in an arbitrary order.
    public static func with<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
        try scoped(max(1, count), current: { current }, set: { set($0) }, body)
    }

    /// `with`'s logic over any setting: set `value` if it differs, run `body`, restore.
    static func scoped<Result>(_ value: Int, current: () -> Int, set: (Int) -> Void,
                               _ body: () throws -> Result) rethrows -> Result {
        let previous = current()
        if previous != value { set(value) }
        defer { if current() != previous { set(previous) } }
        return try body()
    }
}

/// The machine's thread budget: the default of every `--threads` option.
public enum ThreadBudget {
    /// The cores this process may run on: the CPUs of its affinity mask (`sched_getaffinity`),
    /// or `sysconf(_SC_NPROCESSORS_ONLN)` where the mask is unavailable; at least 1.
    public static var availableCores: Int {
        #if os(Linux)
        // `sched_getaffinity` is not exported by Swift's Glibc module: look it up at run time.
        if let symbol = dlsym(nil, "sched_getaffinity") {
            typealias GetAffinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer) -> Int32
            let getAffinity = unsafeBitCast(symbol, to: GetAffinity.self)
            var mask = [UInt64](repeating: 0, count: 16)  // 1024 CPUs, glibc's cpu_set_t
            let status = mask.withUnsafeMutableBytes { getAffinity(0, $0.count, $0.baseAddress!) }
            let count = mask.reduce(0) { $0 + $1.nonzeroBitCount }
            if status == 0, count > 0 { return count }
        }
        #endif
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
