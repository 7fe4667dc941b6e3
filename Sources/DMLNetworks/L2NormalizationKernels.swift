import DMLNumerics
import RealModule

/// Row-wise L2 normalization, forward and backward. A part of `NetworkScalar` (see there why these
/// are protocol requirements); the default implementations below are specialized for `Float` and
/// `Double`.
public protocol L2NormalizationKernels: BLASScalar {
    /// `y_i = x_i / max(‖x_i‖, ε)` row-wise; `norms_i = max(‖x_i‖, ε)`.
    static func l2NormalizeRows(_ x: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into y: UnsafeMutablePointer<Self>, norms: UnsafeMutablePointer<Self>)
    /// `dx_i = (g_i − y_i (y_i·g_i)) / ‖x_i‖` (or `g_i / ε` where the norm was clamped).
    static func l2NormalizeBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, norms: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into dx: UnsafeMutablePointer<Self>)
}

extension L2NormalizationKernels {
    @inlinable
    public static func l2NormalizeRows(_ x: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into y: UnsafeMutablePointer<Self>, norms: UnsafeMutablePointer<Self>) {
        for i in 0..<rows {
            let xr = x + i * columns, yr = y + i * columns
            var s: Self = 0
            for j in 0..<columns { s = Relaxed.multiplyAdd(xr[j], xr[j], s) }
            let norm = Swift.max(s.squareRoot(), epsilon)
            norms[i] = norm
            let inv = 1 / norm
            for j in 0..<columns { yr[j] = xr[j] * inv }
        }
    }

    @inlinable
    public static func l2NormalizeBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, norms: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into dx: UnsafeMutablePointer<Self>) {
        for i in 0..<rows {
            let gr = g + i * columns, yr = y + i * columns, dr = dx + i * columns
            let inv = 1 / norms[i]
            if norms[i] <= epsilon {
                // The clamped branch y = x/ε is linear in x.
                for j in 0..<columns { dr[j] = gr[j] * inv }
                continue
            }
            var yg: Self = 0
            for j in 0..<columns { yg = Relaxed.multiplyAdd(yr[j], gr[j], yg) }
            for j in 0..<columns { dr[j] = (gr[j] - yr[j] * yg) * inv }
        }
    }
}
