import DMLNumerics
import RealModule

/// Vector kernels every layer uses: fill, copy, elementwise sums and products, row-vector
/// broadcasts and column sums, over `count` contiguous values. A part of `NetworkScalar` (see there
/// why these are protocol requirements); the default implementations below are specialized for
/// `Float` and `Double`.
public protocol ElementwiseKernels: BLASScalar {
    /// `x_i ← value` for `i < count`.
    static func fill(_ x: UnsafeMutablePointer<Self>, count: Int, value: Self)
    /// `y_i = x_i · m_i` for `i < count`.
    static func multiply(_ x: UnsafePointer<Self>, _ m: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i = a_i + b_i`.
    static func add(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i += x_i`.
    static func accumulate(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i = x_i`.
    static func copy(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `y_ij = x_ij + b_j` for a `rows × columns` matrix `x` and a row vector `b`.
    static func addRowVector(_ b: UnsafePointer<Self>, to y: UnsafeMutablePointer<Self>, rows: Int, columns: Int)
    /// `Σ_i x_i` over `count` contiguous values.
    static func channelRowSum(_ x: UnsafePointer<Self>, count: Int) -> Self
    /// `s_j += Σ_i g_ij` (column sums of a `rows × columns` matrix, accumulated).
    static func accumulateColumnSums(_ g: UnsafePointer<Self>, rows: Int, columns: Int, into s: UnsafeMutablePointer<Self>)
}

extension ElementwiseKernels {
    @inlinable
    public static func fill(_ x: UnsafeMutablePointer<Self>, count: Int, value: Self) {
        x.update(repeating: value, count: count)
    }

    @inlinable
    public static func multiply(_ x: UnsafePointer<Self>, _ m: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { y[i] = x[i] * m[i] }
    }

    @inlinable
    public static func add(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { y[i] = a[i] + b[i] }
    }

    @inlinable
    public static func accumulate(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    @inlinable
    public static func copy(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        y.update(from: x, count: count)
    }

    @inlinable
    public static func addRowVector(_ b: UnsafePointer<Self>, to y: UnsafeMutablePointer<Self>, rows: Int, columns: Int) {
        for i in 0..<rows {
            let row = y + i * columns
            for j in 0..<columns { row[j] += b[j] }
        }
    }

    @inlinable
    public static func channelRowSum(_ x: UnsafePointer<Self>, count: Int) -> Self {
        var s: Self = 0
        for i in 0..<count { s = Relaxed.sum(s, x[i]) }
        return s
    }

    @inlinable
    public static func accumulateColumnSums(_ g: UnsafePointer<Self>, rows: Int, columns: Int, into s: UnsafeMutablePointer<Self>) {
        for i in 0..<rows {
            let row = g + i * columns
            for j in 0..<columns { s[j] += row[j] }
        }
    }
}
