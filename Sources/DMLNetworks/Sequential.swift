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
///
/// **Evaluation mode** (`training: false`) runs the layers by an `InferencePlan` when
/// `fusesInference` is on (the default): each convolution with the batch norm and activation
/// after it is one pass, the batch norm folded into the convolution's weights. The parameters,
/// their names and training mode are unchanged. A backward pass after a fused evaluation pass
/// first replays the layers unfused from the cached input (so evaluation-mode gradients are
/// those of the layers as written).
public final class Sequential<Scalar: NetworkScalar>: Layer, InferenceReplaying {
    /// The named layers, in order.
    public private(set) var layers: [(name: String, layer: any Layer<Scalar>)] { didSet { cachedPlan = nil } }

    /// Whether evaluation-mode passes run fused steps (`InferencePlan`); set it for a whole
    /// model with `useInferenceFusion(_:)`.
    public var fusesInference = true

    /// Whether `backward` must return `∂L/∂input` (true by default; false for a whole network
    /// whose input is data).
    public var computesInputGradient = true

    /// Times the passes of the leaf layers when set (`use(timer:)`, for profiling).
    public var timer: LayerTimer?

    private var inputShape = TensorShape.vector(0)
    private var inputBatch = 0
    private var zeroGradient = Matrix<Scalar>.empty
    private var cachedPlan: InferencePlan<Scalar>?
    /// The input of the last forward pass when it ran fused steps (replayed unfused before a
    /// backward pass), else nil.
    private var replayInput: Tensor<Scalar>?
    /// Whether the last forward pass ran fused inside an outer container's fused pass (which
    /// replays it before going backward), so it has no replay input of its own.
    private var fusedWithoutReplay = false
    /// Set by an outer container around a fused pass (`InferenceReplaying`).
    var runsNested = false

    /// The evaluation-mode plan of the layers (built once per change of the layer list).
    var inferencePlan: InferencePlan<Scalar> {
        if let cachedPlan { return cachedPlan }
        let plan = InferencePlan(layers)
        cachedPlan = plan
        return plan
    }

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
        replayInput = nil
        fusedWithoutReplay = false
        if !training && fusesInference && inferencePlan.fusesAnything {
            return forwardInference(input, addend: nil, activation: nil)
        }
        var x = input
        if let timer {
            let isRoot = !training && timer.root === self
            for entry in layers {
                let layer = entry.layer, input = x
                let run = {
                    layer.isLeaf ? timer.time(layer, backward: false, { layer.forward(input, training: training) })
                                 : layer.forward(input, training: training)
                }
                x = isRoot ? timer.timeStep(entry.name, run) : run()
            }
            return x
        }
        for entry in layers { x = entry.layer.forward(x, training: training) }
        return x
    }

    /// The evaluation-mode pass by `inferencePlan`, the last step's output pass adding `addend`
    /// and applying `activation` (a `Residual`'s; only when `inferencePlan.acceptsAddend`).
    func forwardInference(_ input: Tensor<Scalar>, addend: Tensor<Scalar>?, activation: ActivationFunction?) -> Tensor<Scalar> {
        precondition(addend == nil || inferencePlan.acceptsAddend, "Sequential: the last step cannot take a residual sum")
        inputShape = input.shape
        inputBatch = input.batch
        replayInput = runsNested ? nil : input
        fusedWithoutReplay = runsNested
        let steps = inferencePlan.steps
        let isRoot = timer.map { $0.root === self } ?? false
        var x = input
        for (index, step) in steps.enumerated() {
            let last = index == steps.count - 1
            let current = x
            switch step {
            case .layer(let i):
                let layer = layers[i].layer
                // Max pooling without recording the maxima's positions (a backward pass replays first).
                let run = {
                    (layer as? MaxPool2D<Scalar>)?.forwardInference(current)
                        ?? runNested(layer) { layer.forward(current, training: false) }
                }
                let timed = { () -> Tensor<Scalar> in
                    guard let timer = self.timer, layer.isLeaf else { return run() }
                    return timer.time(layer, backward: false, run)
                }
                x = isRoot ? timer!.timeStep(layers[i].name, timed) : timed()
            case .convolution(let fused, let range):
                let stepAddend = last ? addend : nil, stepActivation = last && addend != nil ? activation : fused.activation
                let run = {
                    fused.convolution.forwardInference(current, normalization: fused.normalization, addend: stepAddend,
                                                       activation: stepActivation)
                }
                let timed = { () -> Tensor<Scalar> in
                    guard let timer = self.timer else { return run() }
                    let parts: [AnyObject] = range.map { self.layers[$0].layer }
                    let note = stepAddend == nil ? nil : "residual sum" + (activation.map { " + \($0.rawValue)" } ?? "")
                    return timer.time(parts, adding: note, backward: false, run)
                }
                x = isRoot ? timer!.timeStep(range.map { layers[$0].name }.joined(separator: "+"), timed) : timed()
            }
        }
        return x
    }

    public func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(!fusedWithoutReplay, "Sequential.backward after an evaluation pass fused inside an outer container: "
                     + "call backward on the outer container (or useInferenceFusion(false))")
        if let replay = replayInput {
            // The last pass ran fused steps, which cache nothing for backward: run the layers
            // unfused on the same input (the same evaluation-mode function up to rounding).
            withInferenceFusionSuspended { _ = forward(replay, training: false) }
        }
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
