import DMLNumerics

/// The rectifier `y = max(x, 0)`, elementwise; backward `∂L/∂x = ∂L/∂y · [y > 0]` (the
/// subgradient 0 is used at `x = 0`, as PyTorch does).
public final class ReLU<Scalar: NetworkScalar>: Layer {
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// A ReLU layer.
    public init() {}

    public func outputShape(for input: TensorShape) throws -> TensorShape { input }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        output.reshapeForReuse(rows: x.values.rows, columns: x.values.columns)
        let n = x.values.count
        withPointers(x.values, &output) { Scalar.reluForward($0, into: $1, count: n) }
        return Tensor(output, shape: x.shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(g.values.rows == output.rows && g.values.columns == output.columns, "ReLU.backward: gradient shape differs from the output")
        inputGradient.reshapeForReuse(rows: output.rows, columns: output.columns)
        let n = output.count
        output.withUnsafeBufferPointer { y in
            withPointers(g.values, &inputGradient) { gp, dx in Scalar.reluBackward(gp, output: y.baseAddress!, into: dx, count: n) }
        }
        return Tensor(inputGradient, shape: g.shape)
    }
}
