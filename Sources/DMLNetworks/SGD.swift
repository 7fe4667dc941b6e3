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
    public private(set) var stepCount = 0
    /// The pool each parameter tensor's update is split over, in contiguous element ranges
    /// (nil: the calling thread). The update is elementwise: the same numbers at every thread count.
    public var pool: ThreadPool?
    private var buffers: [String: Matrix<Scalar>] = [:]

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
        stepCount += 1
        model.visitTrainableParameters { name, value, gradient in
            let (lrScale, decayScale) = groups.multipliers(for: name)
            let decay = weightDecay.coefficients(scaledBy: decayScale)
            let existing = buffers.removeValue(forKey: name)
            let constants = SGDStepConstants(learningRate: learningRate * lrScale, momentum: momentum, nesterov: nesterov,
                                             firstStep: existing == nil, coupledDecay: decay.coupled,
                                             decoupledDecay: decay.decoupled)
            var b = existing ?? Matrix.zeros(rows: value.rows, columns: value.columns)
            let n = value.count, pool = pool
            if n > 0 {
                gradient.withUnsafeBufferPointer { g in
                    value.withUnsafeMutableBufferPointer { w in
                        b.withUnsafeMutableBufferPointer { bp in
                            let w = WorkerPointer(w.baseAddress!), b = WorkerPointer(bp.baseAddress!)
                            pool.parallelFor(count: n, minimumChunk: elementwiseGrain) { r in
                                let i = r.lowerBound
                                Scalar.sgdUpdate(weights: w.base + i, gradients: g.baseAddress! + i, momentumBuffer: b.base + i,
                                                 count: r.count, hyper: constants)
                            }
                        }
                    }
                }
            }
            if momentum != 0 { buffers[name] = b }
        }
    }

    public func exportState(into archive: inout TensorArchive<Scalar>, prefix: String) {
        archive.integers[prefix + "step"] = Int64(stepCount)
        for (name, b) in buffers { archive.tensors[prefix + "momentum." + name] = b }
    }

    public mutating func importState(from archive: TensorArchive<Scalar>, prefix: String, model: any Layer<Scalar>) throws {
        let step = try archive.integer(prefix + "step")
        var restored: [String: Matrix<Scalar>] = [:]
        if step > 0 && momentum != 0 {
            try model.forEachTrainableParameterShape { name, rows, columns in
                restored[name] = try archive.tensor(prefix + "momentum." + name, rows: rows, columns: columns)
            }
        }
        stepCount = Int(step)
        buffers = restored
    }
}
