import DMLNumerics

/// Average pooling over each channel with a `k × k` window and stride `s` (default `s = k`),
/// no padding: `y = (1/k²) Σ_{i,j<k} x[n, c, oh·s + i, ow·s + j]`; backward spreads `g/k²` over
/// each window.
public final class AvgPool2D<Scalar: NetworkScalar>: Layer {
    /// Window size `k`.
    public let kernelSize: Int
    /// Stride `s`.
    public let stride: Int
    private var geometry: PoolingGeometry?
    private var inputShape = TensorShape.vector(0)
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// A `k × k` average pooling with stride `s` (`k` when nil).
    public init(kernelSize: Int, stride: Int? = nil) {
        precondition(kernelSize > 0 && (stride ?? 1) > 0, "AvgPool2D needs a positive kernel and stride")
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        try pooledShape(input, kernel: kernelSize, stride: stride, layer: "AvgPool2D(k=\(kernelSize), s=\(stride))").shape
    }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        guard let (shape, g) = try? pooledShape(x.shape, kernel: kernelSize, stride: stride, layer: "AvgPool2D") else {
            preconditionFailure("AvgPool2D: input \(x.shape) is smaller than the \(kernelSize)×\(kernelSize) window")
        }
        geometry = g
        inputShape = x.shape
        let planes = x.batch * x.shape.channels
        output.reshapeForReuse(rows: x.batch, columns: shape.count)
        withPointers(x.values, &output) { Scalar.averagePoolForward($0, into: $1, planes: planes, geometry: g) }
        return Tensor(output, shape: shape)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        guard let g = geometry else { preconditionFailure("AvgPool2D.backward before forward") }
        precondition(gradient.values.rows == output.rows && gradient.values.columns == output.columns, "AvgPool2D.backward: gradient shape differs from the output")
        let planes = gradient.batch * inputShape.channels
        inputGradient.reshapeForReuse(rows: gradient.batch, columns: inputShape.count)
        withPointers(gradient.values, &inputGradient) { Scalar.averagePoolBackward($0, into: $1, planes: planes, geometry: g) }
        return Tensor(inputGradient, shape: inputShape)
    }
}
