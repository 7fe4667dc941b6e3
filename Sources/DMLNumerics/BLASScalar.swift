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

/// The number of threads OpenBLAS uses, an explicit setting (one thread is often faster on a
/// loaded two-core machine).
public enum BLASThreads {
    /// Sets the OpenBLAS thread count for every later BLAS call in this process.
    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(clamping: max(1, count)))
    }

    /// The OpenBLAS thread count now in force.
    public static var current: Int { Int(openblas_get_num_threads()) }
}
