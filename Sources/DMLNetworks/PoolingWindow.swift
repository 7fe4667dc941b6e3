import DMLNumerics

/// What the two window-pooling layers share: the window, the shape checks, the geometry of
/// the last forward pass and the reused output and input-gradient buffers.
struct PoolingWindow<Scalar: NetworkScalar> {
    /// Window size.
    let kernel: Size2D
    /// Stride.
    let stride: Size2D
    /// Implicit padding per side.
    let padding: Padding2D
    /// PyTorch's `ceil_mode`.
    let ceilMode: Bool
    /// The layer's name in messages, e.g. `"MaxPool2D(k=3, s=2, ceil)"`.
    let name: String
    private(set) var geometry: PoolingGeometry?
    private(set) var inputShape = TensorShape.vector(0)
    var output = Matrix<Scalar>.empty
    var inputGradient = Matrix<Scalar>.empty

    init(kind: String, kernel: Size2D, stride: Size2D?, padding: Padding2D, ceilMode: Bool) {
        let stride = stride ?? kernel
        precondition(kernel.height > 0 && kernel.width > 0 && stride.height > 0 && stride.width > 0,
                     "\(kind) needs a positive kernel and stride")
        precondition(padding.isNonNegative && padding.top < kernel.height && padding.bottom < kernel.height
                     && padding.left < kernel.width && padding.right < kernel.width,
                     "\(kind) needs a padding smaller than the window")
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.ceilMode = ceilMode
        let k = kernel.height == kernel.width ? "\(kernel.height)" : "\(kernel)"
        let s = stride.height == stride.width ? "\(stride.height)" : "\(stride)"
        name = "\(kind)(k=\(k), s=\(s)\(padding.isZero ? "" : ", p=\(padding)")\(ceilMode ? ", ceil" : ""))"
    }

    /// The output shape and geometry for `input`, or an error naming the layer.
    func pooled(_ input: TensorShape) throws -> (shape: TensorShape, geometry: PoolingGeometry) {
        let g = PoolingGeometry(height: input.height, width: input.width, kernel: kernel, stride: stride,
                                padding: padding, ceilMode: ceilMode)
        guard g.isValid else {
            throw NetworkShapeError(layer: name, reason: "input \(input) is smaller than the \(kernel) window")
        }
        return (TensorShape(channels: input.channels, height: g.outputHeight, width: g.outputWidth), g)
    }

    /// Records the input of a forward pass and sizes the output buffer; returns the output
    /// shape, the geometry and the number of planes `N·C`.
    mutating func beginForward(_ x: Tensor<Scalar>) -> (shape: TensorShape, geometry: PoolingGeometry, planes: Int) {
        guard let (shape, g) = try? pooled(x.shape) else {
            preconditionFailure("\(name): input \(x.shape) is smaller than the \(kernel) window")
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

    /// Runs `body(planes)` over `0..<planes` split into contiguous plane ranges on `pool`'s
    /// workers, each chunk at least `minimumElements` input values (the calling thread without a
    /// pool, or when the planes are too few). Every plane is computed by the same code whatever the split, so the numbers are the
    /// same at every thread count.
    static func forEachPlaneRange(_ planes: Int, geometry g: PoolingGeometry, pool: ThreadPool?, minimumElements: Int,
                                  _ body: (_ planes: Range<Int>) -> Void) {
        let perPlane = Swift.max(1, g.height * g.width)
        pool.parallelFor(count: planes, minimumChunk: Swift.max(1, minimumElements / perPlane), body)
    }
}
