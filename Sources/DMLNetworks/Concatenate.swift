import DMLNumerics

/// Parallel branches on the same input, their outputs concatenated along the channels:
/// `y = [b_1(x), b_2(x), …, b_B(x)]` (PyTorch's `torch.cat(…, dim=1)`), as an Inception
/// module's four branches. Every branch must give the same height and width; the output has
/// `Σ C_b` channels. Branch names are the children's names (torchvision's GoogLeNet:
/// `branch1`, `branch2`, `branch3`, `branch4`, so `inception3a.branch2.1.conv.weight`).
///
/// Backward: branch `b` receives the channel slice `g[:, C_1+…+C_{b−1} ..< C_1+…+C_b]` of the
/// output gradient and `∂L/∂x = Σ_b b.backward(slice_b)`.
public final class Concatenate<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool handed on to every branch (nil: the calling thread).
    public var pool: ThreadPool? {
        didSet { for (_, layer) in branches { handOver(pool, to: layer) } }
    }
    /// The named branches, in channel order.
    public private(set) var branches: [(name: String, layer: any Layer<Scalar>)]
    /// Whether `backward` must return `∂L/∂x` (set by the parent container).
    public var computesInputGradient = true

    private var inputShape = TensorShape.vector(0)
    private var branchShapes: [TensorShape] = []
    private var output = Matrix<Scalar>.empty
    private var sliceGradients: [Matrix<Scalar>] = []
    private var inputGradient = Matrix<Scalar>.empty

    /// Branches named `"0"`, `"1"`, ….
    public convenience init(_ branches: [any Layer<Scalar>]) {
        self.init(named: branches.enumerated().map { (String($0.offset), $0.element) })
    }

    /// Named branches. Names must be unique and non-empty; at least one branch.
    public init(named branches: [(String, any Layer<Scalar>)]) {
        precondition(!branches.isEmpty, "Concatenate needs at least one branch")
        precondition(Set(branches.map(\.0)).count == branches.count && !branches.contains { $0.0.isEmpty },
                     "Concatenate branch names must be unique and non-empty")
        self.branches = branches.map { (name: $0.0, layer: $0.1) }
    }

    public func visitChildren(_ visit: (String, any Layer<Scalar>) -> Void) {
        for (name, layer) in branches { visit(name, layer) }
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        var channels = 0
        var spatial: (Int, Int)?
        for (name, layer) in branches {
            let shape: TensorShape
            do { shape = try layer.outputShape(for: input) } catch let error as NetworkShapeError {
                throw NetworkShapeError(layer: "branch \(name) (\(error.layer))", reason: error.reason)
            }
            if let (h, w) = spatial, h != shape.height || w != shape.width {
                throw NetworkShapeError(layer: "Concatenate", reason: "branch \(name) gives \(shape), the first branch \(h)×\(w) planes")
            }
            spatial = (shape.height, shape.width)
            channels += shape.channels
        }
        return TensorShape(channels: channels, height: spatial!.0, width: spatial!.1)
    }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        inputShape = x.shape
        let outputs = branches.map { $0.layer.forward(x, training: training) }
        branchShapes = outputs.map(\.shape)
        let first = outputs[0].shape
        precondition(outputs.allSatisfy { $0.shape.height == first.height && $0.shape.width == first.width && $0.batch == x.batch },
                     "Concatenate: the branches give planes of different sizes: \(branchShapes)")
        let channels = branchShapes.reduce(0) { $0 + $1.channels }
        let shape = TensorShape(channels: channels, height: first.height, width: first.width)
        let n = x.batch, total = shape.count
        output.reshapeForReuse(rows: n, columns: total)
        var offset = 0
        for branch in outputs {
            let width = branch.shape.count, start = offset
            withPointers(branch.values, &output) { src, dst in
                for sample in 0..<n { Scalar.copy(src + sample * width, into: dst + sample * total + start, count: width) }
            }
            offset += width
        }
        return Tensor(output, shape: shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(g.values.rows == output.rows && g.values.columns == output.columns, "Concatenate.backward: gradient shape differs from the output")
        let n = g.batch, total = g.shape.count
        if sliceGradients.count != branches.count { sliceGradients = Array(repeating: .empty, count: branches.count) }
        var offset = 0, accumulated = false
        inputGradient.reshapeForReuse(rows: n, columns: inputShape.count)
        for (index, (_, layer)) in branches.enumerated() {
            let shape = branchShapes[index], width = shape.count, start = offset
            offset += width
            guard computesInputGradient || layer.hasTrainableParameters else { continue }
            sliceGradients[index].reshapeForReuse(rows: n, columns: width)
            withPointers(g.values, &sliceGradients[index]) { src, dst in
                for sample in 0..<n { Scalar.copy(src + sample * total + start, into: dst + sample * width, count: width) }
            }
            layer.computesInputGradient = computesInputGradient
            let dx = layer.backward(Tensor(sliceGradients[index], shape: shape))
            guard computesInputGradient else { continue }
            let count = dx.values.count
            withPointers(dx.values, &inputGradient) { src, dst in
                if accumulated { Scalar.accumulate(src, into: dst, count: count) } else { Scalar.copy(src, into: dst, count: count) }
            }
            accumulated = true
        }
        if !accumulated {
            let count = inputGradient.count
            inputGradient.withUnsafeMutableBufferPointer { if count > 0 { Scalar.fill($0.baseAddress!, count: count, value: 0) } }
        }
        return Tensor(inputGradient, shape: inputShape)
    }
}
