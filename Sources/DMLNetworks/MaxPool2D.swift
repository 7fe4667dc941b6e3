import DMLNumerics

/// Max pooling over each channel with a `k × k` window and stride `s` (default `s = k`), no
/// padding: `y[n, c, oh, ow] = max_{i,j<k} x[n, c, oh·s + i, ow·s + j]`. Backward routes each
/// output gradient to the position of its maximum (the first one on ties).
public final class MaxPool2D<Scalar: NetworkScalar>: Layer {
    /// Window size `k`.
    public let kernelSize: Int
    /// Stride `s`.
    public let stride: Int
    private var geometry: PoolingGeometry?
    private var inputShape = TensorShape.vector(0)
    private var argmax: [Int32] = []
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// A `k × k` max pooling with stride `s` (`k` when nil).
    public init(kernelSize: Int, stride: Int? = nil) {
        precondition(kernelSize > 0 && (stride ?? 1) > 0, "MaxPool2D needs a positive kernel and stride")
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        try pooledShape(input, kernel: kernelSize, stride: stride, layer: "MaxPool2D(k=\(kernelSize), s=\(stride))").shape
    }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        guard let (shape, g) = try? pooledShape(x.shape, kernel: kernelSize, stride: stride, layer: "MaxPool2D") else {
            preconditionFailure("MaxPool2D: input \(x.shape) is smaller than the \(kernelSize)×\(kernelSize) window")
        }
        geometry = g
        inputShape = x.shape
        let planes = x.batch * x.shape.channels
        output.reshapeForReuse(rows: x.batch, columns: shape.count)
        if argmax.count != x.batch * shape.count { argmax = [Int32](repeating: 0, count: x.batch * shape.count) }
        argmax.withUnsafeMutableBufferPointer { arg in
            withPointers(x.values, &output) { Scalar.maxPoolForward($0, into: $1, argmax: arg.baseAddress!, planes: planes, geometry: g) }
        }
        return Tensor(output, shape: shape)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        guard let g = geometry else { preconditionFailure("MaxPool2D.backward before forward") }
        precondition(gradient.values.rows == output.rows && gradient.values.columns == output.columns, "MaxPool2D.backward: gradient shape differs from the output")
        let planes = gradient.batch * inputShape.channels
        inputGradient.reshapeForReuse(rows: gradient.batch, columns: inputShape.count)
        argmax.withUnsafeBufferPointer { arg in
            withPointers(gradient.values, &inputGradient) { Scalar.maxPoolBackward($0, argmax: arg.baseAddress!, into: $1, planes: planes, geometry: g) }
        }
        return Tensor(inputGradient, shape: inputShape)
    }
}

/// The output shape and geometry of a `k × k` pooling with stride `s`, or an error.
func pooledShape(_ input: TensorShape, kernel: Int, stride: Int, layer: String) throws -> (shape: TensorShape, geometry: PoolingGeometry) {
    let g = PoolingGeometry(height: input.height, width: input.width, kernel: kernel, stride: stride)
    guard g.isValid else {
        throw NetworkShapeError(layer: layer, reason: "input \(input) is smaller than the \(kernel)×\(kernel) window")
    }
    return (TensorShape(channels: input.channels, height: g.outputHeight, width: g.outputWidth), g)
}
