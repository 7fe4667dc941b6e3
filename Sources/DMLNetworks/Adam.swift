import DMLNumerics

/// Adam (Kingma & Ba 2015) as in PyTorch, with optional AdamW-style decoupled weight decay.
///
/// For step `t = 1, 2, …`, effective rate `η = η₀ · group multiplier`, gradient `g`:
/// `g ← g + λ w` (coupled decay), or `w ← w (1 − η λ)` (decoupled);
/// `m ← β₁ m + (1 − β₁) g`, `v ← β₂ v + (1 − β₂) g²`,
/// `w ← w − η · (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε)`.
/// Defaults are the papers': `η₀ = 1e-4`, `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`.
public struct Adam<Scalar: NetworkScalar>: Optimizer {
    /// The base learning rate `η₀`.
    public var learningRate: Double
    /// `β₁`.
    public var beta1: Double
    /// `β₂`.
    public var beta2: Double
    /// `ε`.
    public var epsilon: Double
    /// The weight decay (none by default).
    public var weightDecay: WeightDecay
    /// Per-group multipliers (first matching prefix wins).
    public var groups: [ParameterGroup]
    /// The number of steps taken.
    public var stepCount: Int { state.stepCount }
    /// The pool each parameter tensor's update is split over, in contiguous element ranges
    /// (nil: the calling thread). The update is elementwise: the same numbers at every thread count.
    public var pool: ThreadPool?
    /// The moments `m` and `v` of every trainable parameter.
    private var state = OptimizerState<Scalar>(slots: ["m", "v"])

    /// An Adam optimizer.
    public init(learningRate: Double = 1e-4, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: WeightDecay = .none, groups: [ParameterGroup] = [], pool: ThreadPool? = nil) {
        self.pool = pool
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.groups = groups
    }

    public mutating func step(_ model: any Layer<Scalar>) {
        let t = Double(state.stepCount + 1)
        let base = AdamStepConstants(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                     biasCorrection1: 1 - _pow(beta1, t), biasCorrection2: 1 - _pow(beta2, t),
                                     coupledDecay: 0, decoupledDecay: 0)
        let learningRate = learningRate, groups = groups, weightDecay = weightDecay
        state.step(model, pool: pool) { name, _ in
            let (lrScale, decayScale) = groups.multipliers(for: name)
            var constants = base
            constants.learningRate = learningRate * lrScale
            (constants.coupledDecay, constants.decoupledDecay) = weightDecay.coefficients(scaledBy: decayScale)
            return { chunk in
                Scalar.adamUpdate(weights: chunk.weights, gradients: chunk.gradients, firstMoment: chunk.state(0),
                                  secondMoment: chunk.state(1), count: chunk.count, hyper: constants)
            }
        }
    }

    public func exportState(into archive: inout TensorArchive<Scalar>, prefix: String) {
        state.exportState(into: &archive, prefix: prefix)
    }

    public mutating func importState(from archive: TensorArchive<Scalar>, prefix: String, model: any Layer<Scalar>) throws {
        try state.importState(from: archive, prefix: prefix, model: model)
    }
}

/// `x^y` for the bias corrections (Foundation-free).
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Double.pow(x, y) }
