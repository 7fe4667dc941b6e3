import DMLNumerics

/// `y = x` (PyTorch's `nn.Identity`): a placeholder where an architecture has an optional
/// layer, e.g. a classifier replaced by the embedding head. Backward passes the gradient through.
public final class Identity<Scalar: NetworkScalar>: Layer {
    /// An identity layer.
    public init() {}

    public func outputShape(for input: TensorShape) throws -> TensorShape { input }
    public func forward(_ input: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> { input }
    public func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar> { outputGradient }
}
