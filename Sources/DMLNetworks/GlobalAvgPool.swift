import DMLNumerics

/// Global average pooling: `y[n, c] = (1/(H·W)) Σ_{h,w} x[n, c, h, w]`, output `C × 1 × 1`;
/// backward spreads `g[n, c]/(H·W)` over the plane.
public final class GlobalAvgPool<Scalar: NetworkScalar>: Layer {
    private var inputShape = TensorShape.vector(0)
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// A global average pooling layer.
    public init() {}

    public func outputShape(for input: TensorShape) throws -> TensorShape { .vector(input.channels) }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        inputShape = x.shape
        let planes = x.batch * x.shape.channels, spatial = x.shape.spatialCount
        output.reshapeForReuse(rows: x.batch, columns: x.shape.channels)
        withPointers(x.values, &output) { Scalar.planeMeans($0, into: $1, planes: planes, spatial: spatial) }
        return Tensor(output)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(gradient.values.rows == output.rows && gradient.values.columns == output.columns, "GlobalAvgPool.backward: gradient shape differs from the output")
        let planes = gradient.batch * inputShape.channels, spatial = inputShape.spatialCount
        inputGradient.reshapeForReuse(rows: gradient.batch, columns: inputShape.count)
        withPointers(gradient.values, &inputGradient) { Scalar.planeMeansBackward($0, into: $1, planes: planes, spatial: spatial) }
        return Tensor(inputGradient, shape: inputShape)
    }
}
