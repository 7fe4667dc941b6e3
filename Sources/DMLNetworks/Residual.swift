import DMLNumerics

/// A residual block `y = f(body(x) + shortcut(x))`: the shortcut is the identity when nil
/// (an MBConv block's `x + block(x)`, a ResNet block without downsampling) or a layer (ResNet's
/// `downsample`, a strided 1×1 convolution and batch norm); `f` is an optional activation
/// (ResNet's final ReLU; none for MBConv).
///
/// Names: the body's layers are named at the block's level and the shortcut under
/// `shortcutName`, as torchvision's `BasicBlock` / `Bottleneck` (`conv1`, `bn1`, …,
/// `downsample.0`, `downsample.1`) and the EfficientNet reference's `MBConvBlock`
/// (`_expand_conv`, `_bn0`, `_depthwise_conv`, …), so the block's parameters are
/// `conv1.weight`, `downsample.0.weight`, … under whatever name its container gives it.
///
/// Backward: `g' = g · f'(y)`; `∂L/∂x = body.backward(g') + shortcut.backward(g')` (`+ g'` for
/// the identity).
///
/// With a pool (`pool`, handed on to the body and the shortcut), the sum is split over its
/// workers in contiguous element ranges (the same numbers at every thread count).
///
/// Evaluation mode with `fusesInference` (the default), when the body's `InferencePlan` ends
/// in a fused convolution without an activation (ResNet's `conv2`/`bn2`, MBConv's
/// `_project_conv`/`_bn2`): the shortcut runs first and that last step adds it and applies `f`
/// in its output pass (no separate sum and activation sweeps). A backward pass after it
/// replays the block unfused first.
public final class Residual<Scalar: NetworkScalar>: Layer, PoolParallelLayer, InferenceReplaying {
    /// The pool of the block's layers and of its sum (nil: the calling thread).
    public var pool: ThreadPool? {
        didSet {
            body.use(pool: pool)
            if let shortcut { handOver(pool, to: shortcut) }
        }
    }
    /// The main branch.
    public let body: Sequential<Scalar>
    /// The shortcut branch, or nil for the identity.
    public let shortcut: (any Layer<Scalar>)?
    /// The name of the shortcut among the block's children.
    public let shortcutName: String
    /// The activation applied to the sum, or nil.
    public let activation: ActivationFunction?
    /// Whether `backward` must return `∂L/∂x` (set by the parent container).
    public var computesInputGradient = true
    /// Whether evaluation-mode passes fuse the sum and the activation into the body's last
    /// step (see above; `Sequential.useInferenceFusion(_:)` sets it for a whole model).
    public var fusesInference = true
    /// The input of the last forward pass when it was fused, else nil.
    private var replayInput: Tensor<Scalar>?
    /// Whether the last forward pass ran fused inside an outer container's fused pass.
    private var fusedWithoutReplay = false
    /// Set by an outer container around a fused pass (`InferenceReplaying`).
    var runsNested = false

    private var inputShape = TensorShape.vector(0)
    private var sum = Matrix<Scalar>.empty
    private var output = Matrix<Scalar>.empty
    private var sumGradient = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// A residual block; the shortcut's name must differ from the body's layer names.
    public init(_ body: Sequential<Scalar>, shortcut: (any Layer<Scalar>)? = nil, shortcutName: String = "downsample",
                activation: ActivationFunction? = nil) {
        precondition(shortcut == nil || body[shortcutName] == nil, "Residual: the body already has a layer named \(shortcutName)")
        self.body = body
        self.shortcut = shortcut
        self.shortcutName = shortcutName
        self.activation = activation
    }

    /// A residual block over named body layers.
    public convenience init(named layers: [(String, any Layer<Scalar>)], shortcut: (any Layer<Scalar>)? = nil,
                            shortcutName: String = "downsample", activation: ActivationFunction? = nil) {
        self.init(Sequential(named: layers), shortcut: shortcut, shortcutName: shortcutName, activation: activation)
    }

    public func visitChildren(_ visit: (String, any Layer<Scalar>) -> Void) {
        body.visitChildren(visit)
        if let shortcut { visit(shortcutName, shortcut) }
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        let main = try body.outputShape(for: input)
        let skip: TensorShape
        do { skip = try shortcut?.outputShape(for: input) ?? input } catch let error as NetworkShapeError {
            throw NetworkShapeError(layer: "Residual \(shortcutName) (\(error.layer))", reason: error.reason)
        }
        guard main == skip else {
            throw NetworkShapeError(layer: "Residual", reason: "the body gives \(main) but the shortcut \(skip) for input \(input)")
        }
        return main
    }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        inputShape = x.shape
        replayInput = nil
        fusedWithoutReplay = false
        if !training && fusesInference && body.fusesInference && body.inferencePlan.acceptsAddend {
            // The body and the shortcut run nested: this block replays them before a backward pass.
            let skip = shortcut.map { s in runNested(s) { s.forward(x, training: false) } } ?? x
            replayInput = runsNested ? nil : x
            fusedWithoutReplay = runsNested
            return body.nested { body.forwardInference(x, addend: skip, activation: activation) }
        }
        let main = body.forward(x, training: training)
        let skip = shortcut?.forward(x, training: training) ?? x
        precondition(main.shape == skip.shape && main.batch == skip.batch,
                     "Residual: the body gives \(main.shape) but the shortcut \(skip.shape)")
        let n = main.values.count
        let rows = main.values.rows, columns = main.values.columns
        output.reshapeForReuse(rows: rows, columns: columns)
        if let activation {
            sum.reshapeForReuse(rows: rows, columns: columns)
            main.values.withUnsafeBufferPointer { a in
                withPointers(skip.values, &sum) { b, y in parallelAdd(a.baseAddress!, b, into: y, count: n) }
            }
            Activation<Scalar>.apply(activation, sum, into: &output)
        } else {
            main.values.withUnsafeBufferPointer { a in
                withPointers(skip.values, &output) { b, y in parallelAdd(a.baseAddress!, b, into: y, count: n) }
            }
        }
        return Tensor(output, shape: main.shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(!fusedWithoutReplay, "Residual.backward after an evaluation pass fused inside an outer container: "
                     + "call backward on the outer container (or useInferenceFusion(false))")
        if let replay = replayInput {
            // The fused pass cached nothing for backward: run the block unfused on its input.
            withInferenceFusionSuspended { _ = forward(replay, training: false) }
        }
        precondition(g.values.rows == output.rows && g.values.columns == output.columns, "Residual.backward: gradient shape differs from the output")
        var upstream = g
        if let activation {
            sumGradient.reshapeForReuse(rows: output.rows, columns: output.columns)
            Activation<Scalar>.differentiate(activation, g.values, output: output, into: &sumGradient)
            upstream = Tensor(sumGradient, shape: g.shape)
        }
        body.computesInputGradient = computesInputGradient
        let main = body.backward(upstream)
        let skip: Tensor<Scalar>
        if let shortcut {
            guard computesInputGradient || shortcut.hasTrainableParameters else { return main }
            shortcut.computesInputGradient = computesInputGradient
            skip = shortcut.backward(upstream)
        } else {
            skip = upstream
        }
        guard computesInputGradient else { return main }
        let n = main.values.count
        inputGradient.reshapeForReuse(rows: main.values.rows, columns: main.values.columns)
        main.values.withUnsafeBufferPointer { a in
            withPointers(skip.values, &inputGradient) { b, y in parallelAdd(a.baseAddress!, b, into: y, count: n) }
        }
        return Tensor(inputGradient, shape: inputShape)
    }

    /// `y = a + b` elementwise, contiguous ranges on the pool's workers.
    private func parallelAdd(_ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count: Int) {
        let out = WorkerPointer(y)
        pool.parallelFor(count: count, minimumChunk: elementwiseGrain) { r in
            Scalar.add(a + r.lowerBound, b + r.lowerBound, into: out.base + r.lowerBound, count: r.count)
        }
    }
}

/// Hands `pool` to `layer`: to its own work when it splits it (`PoolParallelLayer`) and to
/// the layers of a nested `Sequential`.
func handOver<Scalar: NetworkScalar>(_ pool: ThreadPool?, to layer: any Layer<Scalar>) {
    (layer as? any PoolParallelLayer)?.pool = pool
    (layer as? Sequential<Scalar>)?.use(pool: pool)
}
