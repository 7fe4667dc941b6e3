import DMLNumerics

/// Layers applied in order, `y = f_L(… f_2(f_1(x)))`; backward runs them in reverse.
///
/// Each layer has a name (its index by default); parameter, buffer and counter names are
/// `"<layer name>.<name>"`, e.g. `"block1.conv.weight"`, so nested `Sequential`s compose
/// (PyTorch's `nn.Sequential` and named `nn.Module` children give the same names).
///
/// Backward stops early when nothing before a layer needs a gradient: with
/// `computesInputGradient` false, the layers before the first one with a trainable parameter
/// (a frozen prefix, `isFrozen`) get no backward pass at all, and `∂L/∂input` is returned as
/// zeros. Each child's `computesInputGradient` is set before its backward pass: true when this
/// container's input gradient is needed or a trainable layer comes before the child.
public final class Sequential<Scalar: NetworkScalar>: Layer {
    /// The named layers, in order.
    public private(set) var layers: [(name: String, layer: any Layer<Scalar>)]

    /// Whether `backward` must return `∂L/∂input` (true by default; false for a whole network
    /// whose input is data).
    public var computesInputGradient = true

    /// Times the passes of the leaf layers when set (`use(timer:)`, for profiling).
    public var timer: LayerTimer?

    private var inputShape = TensorShape.vector(0)
    private var inputBatch = 0
    private var zeroGradient = Matrix<Scalar>.empty

    /// A container of `layers` named `"0"`, `"1"`, ….
    public init(_ layers: [any Layer<Scalar>]) {
        self.layers = layers.enumerated().map { (String($0.offset), $0.element) }
    }

    /// A container of named layers. Names must be unique and non-empty.
    public init(named layers: [(String, any Layer<Scalar>)]) {
        precondition(Set(layers.map(\.0)).count == layers.count && !layers.contains { $0.0.isEmpty },
                     "Sequential layer names must be unique and non-empty")
        self.layers = layers.map { (name: $0.0, layer: $0.1) }
    }

    /// Appends a layer named `name` (its index when nil).
    public func append(_ layer: any Layer<Scalar>, name: String? = nil) {
        let name = name ?? String(layers.count)
        precondition(!layers.contains { $0.name == name }, "Sequential already has a layer named \(name)")
        precondition(!name.isEmpty, "Sequential layer names must be non-empty")
        layers.append((name, layer))
    }

    /// The layer named `name`, if any.
    public subscript(name: String) -> (any Layer<Scalar>)? {
        layers.first { $0.name == name }?.layer
    }

    public func visitChildren(_ visit: (String, any Layer<Scalar>) -> Void) {
        for (name, layer) in layers { visit(name, layer) }
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        var shape = input
        for (name, layer) in layers {
            do { shape = try layer.outputShape(for: shape) } catch let error as NetworkShapeError {
                throw NetworkShapeError(layer: "layer \(name) (\(error.layer))", reason: error.reason)
            }
        }
        return shape
    }

    public func forward(_ input: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        inputShape = input.shape
        inputBatch = input.batch
        var x = input
        if let timer {
            for entry in layers {
                let layer = entry.layer, input = x
                x = layer.isLeaf ? timer.time(layer, backward: false, { layer.forward(input, training: training) })
                                 : layer.forward(input, training: training)
            }
            return x
        }
        for entry in layers { x = entry.layer.forward(x, training: training) }
        return x
    }

    public func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar> {
        // The first layer that must run backward: 0 when our input gradient is needed, else the
        // first layer with a trainable parameter (none: no backward at all).
        let first = computesInputGradient ? 0 : (layers.firstIndex { $0.layer.hasTrainableParameters } ?? layers.count)
        var g = outputGradient
        var index = layers.count - 1
        while index >= first {
            let layer = layers[index].layer
            layer.computesInputGradient = index > first || computesInputGradient
            if let timer, layer.isLeaf {
                let upstream = g
                g = timer.time(layer, backward: true) { layer.backward(upstream) }
            } else {
                g = layer.backward(g)
            }
            index -= 1
        }
        if first == 0 && !layers.isEmpty { return g }
        if layers.isEmpty { return outputGradient }
        if zeroGradient.rows != inputBatch || zeroGradient.columns != inputShape.count {
            zeroGradient = .zeros(rows: inputBatch, columns: inputShape.count)
        }
        return Tensor(zeroGradient, shape: inputShape)
    }
}
