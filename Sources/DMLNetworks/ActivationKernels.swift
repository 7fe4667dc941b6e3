import DMLNumerics
import RealModule

/// The activation kernels: ReLU and ReLU6, forward and backward. A part of `NetworkScalar` (see
/// there why these are protocol requirements); the default implementations below are specialized
/// for `Float` and `Double`.
public protocol ActivationKernels: BLASScalar {
    /// `y_i = max(x_i, 0)`.
    static func reluForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `dx_i = g_i · [y_i > 0]` (with `y` the ReLU output).
    static func reluBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i = min(max(x_i, 0), 6)`.
    static func relu6Forward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `dx_i = g_i · [0 < y_i < 6]` (with `y` the ReLU6 output; PyTorch's subgradient 0 at both kinks).
    static func relu6Backward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int)
}

extension ActivationKernels {
    @inlinable
    public static func reluForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { let v = x[i]; y[i] = v > 0 ? v : 0 }
    }

    @inlinable
    public static func reluBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int) {
        // Both loads are unconditional so the compiler emits a vector select, not a branch
        // (a branch mispredicts on half the elements of a ReLU layer).
        for i in 0..<count {
            let gi = g[i], yi = y[i]
            dx[i] = yi > 0 ? gi : 0
        }
    }

    @inlinable
    public static func relu6Forward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            let lower = v > 0 ? v : 0
            y[i] = lower < 6 ? lower : 6
        }
    }

    @inlinable
    public static func relu6Backward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count {
            let gi = g[i], yi = y[i]
            dx[i] = yi > 0 && yi < 6 ? gi : 0
        }
    }
}
