import DMLNumerics

/// Inverted dropout: in training mode each value is kept with probability `1 − p` and scaled by
/// `1/(1 − p)`, else set to 0 (`y = x · mask`); in evaluation mode `y = x`. Backward:
/// `∂L/∂x = g · mask`.
///
/// Deterministic: the mask of the `t`-th training forward pass is drawn from
/// `SeededGenerator(seed: seed, stream: t)`, so the same seed gives the same masks, and the
/// counter `t` (a checkpointed counter, `visitCounters`) is all the state needed to resume.
public final class Dropout<Scalar: NetworkScalar>: Layer {
    /// The drop probability `p`, in `[0, 1)`.
    public let probability: Double
    /// The seed of the mask streams.
    public let seed: UInt64
    /// The number of training forward passes so far (`t`).
    public var forwardCount = 0
    private var mask = Matrix<Scalar>.empty
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty
    private var masked = false

    /// Dropout with drop probability `probability` and mask seed `seed`.
    public init(probability: Double, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "Dropout probability must be in [0, 1), got \(probability)")
        self.probability = probability
        self.seed = seed
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { input }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        masked = training && probability > 0
        guard masked else { return x }
        var generator = SeededGenerator(seed: seed, stream: UInt64(forwardCount))
        forwardCount += 1
        let n = x.values.count, p = probability
        mask.reshapeForReuse(rows: x.values.rows, columns: x.values.columns)
        mask.withUnsafeMutableBufferPointer { m in
            if n > 0 { Scalar.dropoutMask(into: m.baseAddress!, count: n, dropProbability: p, generator: &generator) }
        }
        output.reshapeForReuse(rows: x.values.rows, columns: x.values.columns)
        mask.withUnsafeBufferPointer { m in
            withPointers(x.values, &output) { Scalar.multiply($0, m.baseAddress!, into: $1, count: n) }
        }
        return Tensor(output, shape: x.shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        guard masked else { return g }
        precondition(g.values.rows == mask.rows && g.values.columns == mask.columns, "Dropout.backward: gradient shape differs from the output")
        let n = g.values.count
        inputGradient.reshapeForReuse(rows: mask.rows, columns: mask.columns)
        mask.withUnsafeBufferPointer { m in
            withPointers(g.values, &inputGradient) { Scalar.multiply($0, m.baseAddress!, into: $1, count: n) }
        }
        return Tensor(inputGradient, shape: g.shape)
    }

    public func visitCounters(_ visit: (String, inout Int) -> Void) {
        visit("forwardCount", &forwardCount)
    }
}
