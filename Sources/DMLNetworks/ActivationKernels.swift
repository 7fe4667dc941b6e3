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
    /// In place, `y_i ← f(y_i + b + a_i)` (no `a_i` when `a` is nil; `f` the identity when
    /// `function` is nil): the output pass of an evaluation-mode convolution step
    /// (`InferencePlan`) over one output plane, which adds the channel's bias `b` and a
    /// residual branch and applies the activation while the sample's output is still in cache.
    static func addActivate(_ y: UnsafeMutablePointer<Self>, bias b: Self, adding a: UnsafePointer<Self>?,
                            function: ActivationFunction?, count: Int)
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

    /// One loop per case, each in its own function, storing `f(y_i + b [+ a_i])`: in one function
    /// the optimizer turned the selects into a branch and a conditional store per element; apart,
    /// each loop becomes vector adds and `maxps`/`minps`. `f(v)` is `v > 0 ? v : 0` (ReLU) or that
    /// clipped at 6 (ReLU6), as the layers compute it.
    @inlinable
    public static func addActivate(_ y: UnsafeMutablePointer<Self>, bias b: Self, adding a: UnsafePointer<Self>?,
                                   function: ActivationFunction?, count: Int) {
        switch (a, function) {
        case (nil, nil): addBias(y, b, count)
        case let (a?, nil): addBias(y, b, a, count)
        case (nil, .relu?): addRelu(y, b, count)
        case let (a?, .relu?): addRelu(y, b, a, count)
        case (nil, .relu6?): addRelu6(y, b, count)
        case let (a?, .relu6?): addRelu6(y, b, a, count)
        }
    }

    @inline(never) @usableFromInline
    static func addBias(_ y: UnsafeMutablePointer<Self>, _ b: Self, _ count: Int) {
        for i in 0..<count { y[i] = y[i] + b }
    }

    @inline(never) @usableFromInline
    static func addBias(_ y: UnsafeMutablePointer<Self>, _ b: Self, _ a: UnsafePointer<Self>, _ count: Int) {
        for i in 0..<count { y[i] = y[i] + b + a[i] }
    }

    @inline(never) @usableFromInline
    static func addRelu(_ y: UnsafeMutablePointer<Self>, _ b: Self, _ count: Int) {
        for i in 0..<count { let v = y[i] + b; y[i] = v > 0 ? v : 0 }
    }

    @inline(never) @usableFromInline
    static func addRelu(_ y: UnsafeMutablePointer<Self>, _ b: Self, _ a: UnsafePointer<Self>, _ count: Int) {
        for i in 0..<count { let v = y[i] + b + a[i]; y[i] = v > 0 ? v : 0 }
    }

    @inline(never) @usableFromInline
    static func addRelu6(_ y: UnsafeMutablePointer<Self>, _ b: Self, _ count: Int) {
        for i in 0..<count { let v = y[i] + b; let lower = v > 0 ? v : 0; y[i] = lower < 6 ? lower : 6 }
    }

    @inline(never) @usableFromInline
    static func addRelu6(_ y: UnsafeMutablePointer<Self>, _ b: Self, _ a: UnsafePointer<Self>, _ count: Int) {
        for i in 0..<count { let v = y[i] + b + a[i]; let lower = v > 0 ? v : 0; y[i] = lower < 6 ? lower : 6 }
    }
}
