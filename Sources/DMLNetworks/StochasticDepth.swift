import DMLNumerics

/// Stochastic depth per sample (the EfficientNet reference's `drop_connect`, torchvision's
/// `StochasticDepth(mode="row")`): in training mode sample `n` is kept with probability `1 − p`
/// and scaled by `1/(1 − p)`, else zeroed, `y_n = x_n · b_n/(1 − p)` with `b_n ~ Bernoulli(1 − p)`;
/// in evaluation mode `y = x`. Placed at the end of a residual body it drops the whole branch
/// of a sample. Backward: `∂L/∂x_n = g_n · b_n/(1 − p)`.
///
/// Deterministic like `Dropout`: the mask of the `t`-th training forward pass comes from
/// `SeededGenerator(seed: seed, stream: t)`, and `t` is a checkpointed counter (`forwardCount`).
public final class StochasticDepth<Scalar: NetworkScalar>: Layer {
    /// The drop probability `p`, in `[0, 1)`.
    public let probability: Double
    /// The seed of the mask streams.
    public let seed: UInt64
    /// The number of training forward passes so far (`t`).
    public var forwardCount = 0
    private var scales: [Scalar] = []
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty
    private var masked = false

    /// Stochastic depth with drop probability `probability` and mask seed `seed`.
    public init(probability: Double, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "StochasticDepth probability must be in [0, 1), got \(probability)")
        self.probability = probability
        self.seed = seed
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { input }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        masked = training && probability > 0
        guard masked else { return x }
        var generator = SeededGenerator(seed: seed, stream: UInt64(forwardCount))
        forwardCount += 1
        let keep = 1 - probability
        scales = (0..<x.batch).map { _ in generator.nextUniform() < keep ? Scalar(1 / keep) : 0 }
        output.reshapeForReuse(rows: x.values.rows, columns: x.values.columns)
        Self.scaleRows(x.values, by: scales, into: &output)
        return Tensor(output, shape: x.shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        guard masked else { return g }
        precondition(g.values.rows == output.rows && g.values.columns == output.columns, "StochasticDepth.backward: gradient shape differs from the output")
        inputGradient.reshapeForReuse(rows: output.rows, columns: output.columns)
        Self.scaleRows(g.values, by: scales, into: &inputGradient)
        return Tensor(inputGradient, shape: g.shape)
    }

    /// `y_n = s_n · x_n` per row.
    private static func scaleRows(_ x: Matrix<Scalar>, by scales: [Scalar], into y: inout Matrix<Scalar>) {
        let columns = x.columns
        withPointers(x, &y) { xp, yp in
            for (n, s) in scales.enumerated() {
                if s == 0 {
                    Scalar.fill(yp + n * columns, count: columns, value: 0)
                } else {
                    Scalar.copy(xp + n * columns, into: yp + n * columns, count: columns)
                    Scalar.scal(n: columns, alpha: s, x: yp + n * columns, incx: 1)
                }
            }
        }
    }

    public func visitCounters(_ visit: (String, inout Int) -> Void) {
        visit("forwardCount", &forwardCount)
    }
}
