import DMLNumerics

/// Stochastic gradient descent with optional (Nesterov) momentum and weight decay, as PyTorch's
/// `torch.optim.SGD` (without dampening).
///
/// With effective rate `η = η₀ · group multiplier` and gradient `g`:
/// `d = g + λ w` (coupled decay, PyTorch's `weight_decay`; or `w ← w (1 − η λ)` when decoupled);
/// with momentum `μ > 0`: `b ← d` on the first step, else `b ← μ b + d`, and `d ← b`
/// (Nesterov: `d ← d + μ b`); finally `w ← w − η d`.
public struct SGD<Scalar: NetworkScalar>: Optimizer {
    /// The base learning rate `η₀`.
    public var learningRate: Double
    /// The momentum `μ`.
    public var momentum: Double
    /// Nesterov momentum.
    public var nesterov: Bool
    /// The weight decay (coupled, as PyTorch's SGD, by default when given).
    public var weightDecay: WeightDecay
    /// Per-group multipliers (first matching prefix wins).
    public var groups: [ParameterGroup]
    /// The number of steps taken.
    public var stepCount: Int { state.stepCount }
    /// The pool each parameter tensor's update is split over, in contiguous element ranges
    /// (nil: the calling thread). The update is elementwise: the same numbers at every thread count.
    public var pool: ThreadPool?
    /// The momentum buffer `b` of every trainable parameter (none kept when `μ = 0`).
    private var state = OptimizerState<Scalar>(slots: ["momentum"])

    /// An SGD optimizer.
    public init(learningRate: Double, momentum: Double = 0.9, nesterov: Bool = false,
                weightDecay: WeightDecay = .none, groups: [ParameterGroup] = [], pool: ThreadPool? = nil) {
        self.pool = pool
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.groups = groups
    }

    public mutating func step(_ model: any Layer<Scalar>) {
        let learningRate = learningRate, momentum = momentum, nesterov = nesterov
        let groups = groups, weightDecay = weightDecay
        state.step(model, pool: pool, retains: momentum != 0) { name, isNew in
            let (lrScale, decayScale) = groups.multipliers(for: name)
            let decay = weightDecay.coefficients(scaledBy: decayScale)
            let constants = SGDStepConstants(learningRate: learningRate * lrScale, momentum: momentum, nesterov: nesterov,
                                             firstStep: isNew, coupledDecay: decay.coupled, decoupledDecay: decay.decoupled)
            return { chunk in
                Scalar.sgdUpdate(weights: chunk.weights, gradients: chunk.gradients, momentumBuffer: chunk.state(0),
                                 count: chunk.count, hyper: constants)
            }
        }
    }

    public func exportState(into archive: inout TensorArchive<Scalar>, prefix: String) {
        state.exportState(into: &archive, prefix: prefix)
    }

    public mutating func importState(from archive: TensorArchive<Scalar>, prefix: String, model: any Layer<Scalar>) throws {
        try state.importState(from: archive, prefix: prefix, model: model, retains: momentum != 0)
    }
}
