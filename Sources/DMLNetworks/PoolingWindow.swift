import DMLNumerics

/// What the two window-pooling layers share: the window, the shape checks, the geometry of
/// the last forward pass and the reused output and input-gradient buffers.
struct PoolingWindow<Scalar: NetworkScalar> {
    /// Window size `k`.
    let kernelSize: Int
    /// Stride `s`.
    let stride: Int
    /// The layer's name in messages, e.g. `"MaxPool2D(k=2, s=2)"`.
    let name: String
    private(set) var geometry: PoolingGeometry?
    private(set) var inputShape = TensorShape.vector(0)
    var output = Matrix<Scalar>.empty
    var inputGradient = Matrix<Scalar>.empty

    init(kind: String, kernelSize: Int, stride: Int?) {
        precondition(kernelSize > 0 && (stride ?? 1) > 0, "\(kind) needs a positive kernel and stride")
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        name = "\(kind)(k=\(kernelSize), s=\(self.stride))"
    }

    /// The output shape and geometry for `input`, or an error naming the layer.
    func pooled(_ input: TensorShape) throws -> (shape: TensorShape, geometry: PoolingGeometry) {
        let g = PoolingGeometry(height: input.height, width: input.width, kernel: kernelSize, stride: stride)
        guard g.isValid else {
            throw NetworkShapeError(layer: name, reason: "input \(input) is smaller than the \(kernelSize)×\(kernelSize) window")
        }
        return (TensorShape(channels: input.channels, height: g.outputHeight, width: g.outputWidth), g)
    }

    /// Records the input of a forward pass and sizes the output buffer; returns the output
    /// shape, the geometry and the number of planes `N·C`.
    mutating func beginForward(_ x: Tensor<Scalar>) -> (shape: TensorShape, geometry: PoolingGeometry, planes: Int) {
        guard let (shape, g) = try? pooled(x.shape) else {
            preconditionFailure("\(name): input \(x.shape) is smaller than the \(kernelSize)×\(kernelSize) window")
        }
        geometry = g
        inputShape = x.shape
        output.reshapeForReuse(rows: x.batch, columns: shape.count)
        return (shape, g, x.batch * x.shape.channels)
    }

    /// Checks the gradient against the last output and sizes the input-gradient buffer;
    /// returns the geometry and the number of planes.
    mutating func beginBackward(_ gradient: Tensor<Scalar>) -> (geometry: PoolingGeometry, planes: Int) {
        guard let g = geometry else { preconditionFailure("\(name).backward before forward") }
        precondition(gradient.values.rows == output.rows && gradient.values.columns == output.columns,
                     "\(name).backward: gradient shape differs from the output")
        inputGradient.reshapeForReuse(rows: gradient.batch, columns: inputShape.count)
        return (g, gradient.batch * inputShape.channels)
    }
}
