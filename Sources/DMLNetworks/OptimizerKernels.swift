import DMLNumerics
/// The per-step constants of one Adam update of one parameter tensor.
public struct AdamStepConstants: Sendable {
    /// The effective learning rate `η` (base rate × schedule × group multiplier).
    public var learningRate: Double
    /// `β₁`.
    public var beta1: Double
    /// `β₂`.
    public var beta2: Double
    /// `ε`.
    public var epsilon: Double
    /// `1 − β₁ᵗ`.
    public var biasCorrection1: Double
    /// `1 − β₂ᵗ`.
    public var biasCorrection2: Double
    /// `λ` of L2-coupled decay (`g ← g + λ w`), 0 for none.
    public var coupledDecay: Double
    /// `λ` of decoupled decay (`w ← w − η λ w`, AdamW), 0 for none.
    public var decoupledDecay: Double
}

/// The per-step constants of one SGD-with-momentum update of one parameter tensor.
public struct SGDStepConstants: Sendable {
    /// The effective learning rate `η`.
    public var learningRate: Double
    /// The momentum `μ` (0 for plain SGD).
    public var momentum: Double
    /// Nesterov momentum.
    public var nesterov: Bool
    /// Whether this is the first step (the buffer is then set to the gradient, as PyTorch does).
    public var firstStep: Bool
    /// `λ` of L2-coupled decay (`g ← g + λ w`).
    public var coupledDecay: Double
    /// `λ` of decoupled decay (`w ← w − η λ w`).
    public var decoupledDecay: Double
}

/// The elementwise optimizer updates (Adam/AdamW, SGD with momentum). A part of `NetworkScalar`
/// (see there why these are protocol requirements); the default implementations below are
/// specialized for `Float` and `Double`.
public protocol OptimizerKernels: BLASScalar, SIMDScalar {
    /// One Adam/AdamW update of `count` weights (see `Adam`).
    static func adamUpdate(weights w: UnsafeMutablePointer<Self>, gradients g: UnsafePointer<Self>, firstMoment m: UnsafeMutablePointer<Self>, secondMoment v: UnsafeMutablePointer<Self>, count: Int, hyper: AdamStepConstants)
    /// One SGD-with-momentum update of `count` weights (see `SGD`).
    static func sgdUpdate(weights w: UnsafeMutablePointer<Self>, gradients g: UnsafePointer<Self>, momentumBuffer b: UnsafeMutablePointer<Self>, count: Int, hyper: SGDStepConstants)
}

extension OptimizerKernels {
    @inlinable
    public static func adamUpdate(weights w: UnsafeMutablePointer<Self>, gradients g: UnsafePointer<Self>, firstMoment m: UnsafeMutablePointer<Self>, secondMoment v: UnsafeMutablePointer<Self>, count: Int, hyper: AdamStepConstants) {
        let b1 = Self(hyper.beta1), b2 = Self(hyper.beta2)
        let a1 = 1 - b1, a2 = 1 - b2
        let stepSize = Self(hyper.learningRate / hyper.biasCorrection1)
        let rootCorrection = Self(hyper.biasCorrection2.squareRoot())
        let eps = Self(hyper.epsilon)
        let lambda = Self(hyper.coupledDecay)
        let shrink = Self(1 - hyper.learningRate * hyper.decoupledDecay)
        // Eight weights at a time on SIMD8 lanes (the four pointers may alias as far as the
        // compiler knows, so the scalar loop stays scalar: a square root and a division each);
        // every lane does the scalar loop's operations in the same order, so the bits agree.
        var i = 0
        typealias Lanes = UnalignedVector<Self>
        while i + 8 <= count {
            let weight = Lanes.load8(w + i) * shrink
            let grad = Lanes.load8(g + i) + lambda * weight
            let mi = b1 * Lanes.load8(m + i) + a1 * grad
            let vi = b2 * Lanes.load8(v + i) + a2 * grad * grad
            Lanes.store(mi, m + i)
            Lanes.store(vi, v + i)
            Lanes.store(weight - stepSize * mi / (vi.squareRoot() / rootCorrection + eps), w + i)
            i += 8
        }
        while i < count {
            let weight = w[i] * shrink
            let grad = g[i] + lambda * weight
            let mi = b1 * m[i] + a1 * grad
            let vi = b2 * v[i] + a2 * grad * grad
            m[i] = mi
            v[i] = vi
            w[i] = weight - stepSize * mi / (vi.squareRoot() / rootCorrection + eps)
            i += 1
        }
    }

    @inlinable
    public static func sgdUpdate(weights w: UnsafeMutablePointer<Self>, gradients g: UnsafePointer<Self>, momentumBuffer b: UnsafeMutablePointer<Self>, count: Int, hyper: SGDStepConstants) {
        let lr = Self(hyper.learningRate), mu = Self(hyper.momentum)
        let lambda = Self(hyper.coupledDecay)
        let shrink = Self(1 - hyper.learningRate * hyper.decoupledDecay)
        let useMomentum = hyper.momentum != 0
        for i in 0..<count {
            let weight = w[i] * shrink
            var d = g[i] + lambda * weight
            if useMomentum {
                let buffer = hyper.firstStep ? d : mu * b[i] + d
                b[i] = buffer
                d = hyper.nesterov ? d + mu * buffer : buffer
            }
            w[i] = weight - lr * d
        }
    }
}
