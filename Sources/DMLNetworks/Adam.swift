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
    public private(set) var stepCount = 0
    /// The pool each parameter tensor's update is split over, in contiguous element ranges
    /// (nil: the calling thread). The update is elementwise: the same numbers at every thread count.
    public var pool: ThreadPool?
    private var firstMoments: [String: Matrix<Scalar>] = [:]
    private var secondMoments: [String: Matrix<Scalar>] = [:]

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
        stepCount += 1
        let t = Double(stepCount)
        let base = AdamStepConstants(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                     biasCorrection1: 1 - _pow(beta1, t), biasCorrection2: 1 - _pow(beta2, t),
                                     coupledDecay: 0, decoupledDecay: 0)
        model.visitTrainableParameters { name, value, gradient in
            let (lrScale, decayScale) = groups.multipliers(for: name)
            var constants = base
            constants.learningRate = learningRate * lrScale
            (constants.coupledDecay, constants.decoupledDecay) = weightDecay.coefficients(scaledBy: decayScale)
            var m = firstMoments.removeValue(forKey: name) ?? Matrix.zeros(rows: value.rows, columns: value.columns)
            var v = secondMoments.removeValue(forKey: name) ?? Matrix.zeros(rows: value.rows, columns: value.columns)
            let n = value.count, pool = pool
            if n > 0 {
                gradient.withUnsafeBufferPointer { g in
                    value.withUnsafeMutableBufferPointer { w in
                        m.withUnsafeMutableBufferPointer { mp in
                            v.withUnsafeMutableBufferPointer { vp in
                                let w = WorkerPointer(w.baseAddress!), m = WorkerPointer(mp.baseAddress!), v = WorkerPointer(vp.baseAddress!)
                                pool.parallelFor(count: n, minimumChunk: elementwiseGrain) { r in
                                    let i = r.lowerBound
                                    Scalar.adamUpdate(weights: w.base + i, gradients: g.baseAddress! + i, firstMoment: m.base + i,
                                                      secondMoment: v.base + i, count: r.count, hyper: constants)
                                }
                            }
                        }
                    }
                }
            }
            firstMoments[name] = m
            secondMoments[name] = v
        }
    }

    public func exportState(into archive: inout TensorArchive<Scalar>, prefix: String) {
        archive.integers[prefix + "step"] = Int64(stepCount)
        for (name, m) in firstMoments { archive.tensors[prefix + "m." + name] = m }
        for (name, v) in secondMoments { archive.tensors[prefix + "v." + name] = v }
    }

    public mutating func importState(from archive: TensorArchive<Scalar>, prefix: String, model: any Layer<Scalar>) throws {
        let step = try archive.integer(prefix + "step")
        var first: [String: Matrix<Scalar>] = [:], second: [String: Matrix<Scalar>] = [:]
        if step > 0 {
            try model.forEachTrainableParameterShape { name, rows, columns in
                first[name] = try archive.tensor(prefix + "m." + name, rows: rows, columns: columns)
                second[name] = try archive.tensor(prefix + "v." + name, rows: rows, columns: columns)
            }
        }
        stepCount = Int(step)
        firstMoments = first
        secondMoments = second
    }
}

/// `x^y` for the bias corrections (Foundation-free).
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Double.pow(x, y) }
