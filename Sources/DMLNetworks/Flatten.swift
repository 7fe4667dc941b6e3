import DMLNumerics

/// Reshapes each sample `C × H × W` to a vector `C·H·W × 1 × 1`. The values are already stored
/// flat (NCHW rows), so forward and backward only change the shape label.
public final class Flatten<Scalar: NetworkScalar>: Layer {
    private var inputShape = TensorShape.vector(0)

    /// A flatten layer.
    public init() {}

    public func outputShape(for input: TensorShape) throws -> TensorShape { .vector(input.count) }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        inputShape = x.shape
        return Tensor(x.values)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        Tensor(g.values, shape: inputShape)
    }
}
