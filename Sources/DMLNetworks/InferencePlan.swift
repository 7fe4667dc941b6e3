import DMLNumerics

/// What identifies the weights a cached Winograd transform `U` was computed from: the
/// convolution's own weights at a `Conv2D.parameterVersion`, or its weights with a batch norm
/// folded in at a fold generation (advanced by every refold). Two equal stamps of one layer
/// always mean the same weights, so no pass compares the weights themselves.
enum ConvolutionWeightStamp: Equatable {
    /// `Conv2D.weight` at this `parameterVersion`.
    case raw(UInt64)
    /// The folded weights of this generation (`Conv2D.forwardInference`).
    case folded(UInt64)
}

/// The output pass of an evaluation-mode convolution step: `y[n, c, ·] ← f(y[n, c, ·] + b_c +
/// a[n, c, ·])` (`b` the bias, when the kernel leaves it to this pass; `a` the residual branch;
/// `f` the activation; each optional), run by the convolution's kernel on each sample (or block
/// of output rows) right after writing it, while it is in cache.
struct ConvolutionEpilogue<Scalar: NetworkScalar>: @unchecked Sendable {
    /// The per-channel bias added here, or nil (the kernel added it, or there is none).
    var bias: UnsafePointer<Scalar>?
    /// The addend, laid out as the output (batch × O·OH·OW), or nil.
    var addend: UnsafePointer<Scalar>?
    /// The activation applied after the sums, or nil.
    var activation: ActivationFunction?

    /// Nothing to do.
    init() {}

    /// `y ← f(y + a)` with `a` at `addend` (nil: none).
    init(addend: UnsafePointer<Scalar>?, activation: ActivationFunction?) {
        self.addend = addend
        self.activation = activation
    }

    /// Whether the pass does anything.
    var isActive: Bool { bias != nil || addend != nil || activation != nil }

    /// Applies the pass to whole samples `samples` of an output of `channels` planes of `plane`
    /// values each (`y` the output's start).
    func apply(_ y: UnsafeMutablePointer<Scalar>, samples: Range<Int>, channels: Int, plane: Int) {
        apply(y, samples: samples, channels: channels, planeRows: 1, planeWidth: plane, rows: 0..<1)
    }

    /// Applies the pass to rows `rows` of every one of the `channels` planes
    /// (`planeRows × planeWidth`) of samples `samples` (`y` the output's start).
    func apply(_ y: UnsafeMutablePointer<Scalar>, samples: Range<Int>, channels: Int, planeRows: Int, planeWidth: Int, rows: Range<Int>) {
        guard isActive, !rows.isEmpty else { return }
        let plane = planeRows * planeWidth, count = rows.count * planeWidth
        for sample in samples {
            for c in 0..<channels {
                let offset = (sample * channels + c) * plane + rows.lowerBound * planeWidth
                Scalar.addActivate(y + offset, bias: bias?[c] ?? 0, adding: addend.map { $0 + offset }, function: activation,
                                   count: count)
            }
        }
    }
}

/// How a `Sequential` runs in evaluation mode: its layers in order, except that a convolution
/// followed by a batch norm and/or an activation (`ReLU`, `Activation`) is one step
/// (`Conv2D.forwardInference`: the batch norm folded into the weights and a bias, the
/// activation applied in the convolution's output pass), and layers that are the identity in
/// evaluation (`Dropout`, `StochasticDepth`, `Identity`) are skipped; max pooling computes its
/// values without recording the maxima's positions (`MaxPool2D.forwardInference`). A `Residual` whose body
/// ends in such a step without an activation adds its shortcut and applies its own activation
/// in that step's output pass too.
///
/// The plan depends only on the layers' types and order; the numbers it uses (the folded
/// weights, the Winograd transforms) are cached by the convolutions, keyed by the layers'
/// `parameterVersion`s, so a change of any weight or batch-norm statistic — an optimizer step,
/// `loadWeights`, `importState`, a training-mode pass updating the running statistics, an
/// assignment — is seen by the next evaluation pass. Training mode never uses the plan.
struct InferencePlan<Scalar: NetworkScalar> {
    /// One step of the plan.
    enum Step {
        /// `layers[index].forward(x, training: false)`.
        case layer(Int)
        /// A fused convolution covering `layers[range]`.
        case convolution(FusedConvolution, layers: Range<Int>)
    }

    /// A convolution, the batch norm after it (or nil) and the activation after that (or nil).
    struct FusedConvolution {
        let convolution: Conv2D<Scalar>
        let normalization: BatchNorm<Scalar>?
        let activation: ActivationFunction?
    }

    /// The steps, in order.
    let steps: [Step]

    /// The plan of `layers`.
    init(_ layers: [(name: String, layer: any Layer<Scalar>)]) {
        var steps: [Step] = []
        var i = 0
        while i < layers.count {
            let layer = layers[i].layer
            if Self.isIdentityInEvaluation(layer) {
                i += 1
                continue
            }
            guard let convolution = layer as? Conv2D<Scalar> else {
                steps.append(.layer(i))
                i += 1
                continue
            }
            var j = i + 1
            var normalization: BatchNorm<Scalar>?
            if j < layers.count, let bn = layers[j].layer as? BatchNorm<Scalar>, bn.channels == convolution.outputChannels {
                normalization = bn
                j += 1
            }
            // A batch norm with its own activation brings it; otherwise an activation layer may follow.
            var activation: ActivationFunction? = normalization?.activation
            if activation == nil && j < layers.count {
                if layers[j].layer is ReLU<Scalar> {
                    activation = .relu
                } else if let a = layers[j].layer as? Activation<Scalar> {
                    activation = a.function
                }
                if activation != nil { j += 1 }
            }
            if normalization == nil && activation == nil {
                steps.append(.layer(i))
            } else {
                steps.append(.convolution(FusedConvolution(convolution: convolution, normalization: normalization,
                                                           activation: activation), layers: i..<j))
            }
            i = j
        }
        self.steps = steps
        fusesAnything = steps.contains { step in
            switch step {
            case .convolution: return true
            case .layer(let i):
                let layer = layers[i].layer
                return layer is MaxPool2D<Scalar> || !layer.isLeaf
            }
        }
    }

    /// Whether a pass by the plan differs from the plain one: a fused step, a max pooling
    /// (values only), or a container, which may fuse inside (otherwise the plain pass is the
    /// same work and needs no replay before a backward pass).
    let fusesAnything: Bool

    /// Whether the last step is a fused convolution without an activation of its own, so a
    /// residual sum and the block's activation can join its output pass.
    var acceptsAddend: Bool {
        guard case .convolution(let fused, _)? = steps.last else { return false }
        return fused.activation == nil
    }

    /// `Dropout`, `StochasticDepth` and `Identity` pass their input through in evaluation mode.
    static func isIdentityInEvaluation(_ layer: any Layer<Scalar>) -> Bool {
        layer is Dropout<Scalar> || layer is StochasticDepth<Scalar> || layer is Identity<Scalar>
    }
}

/// A container that can run an evaluation pass fused (`Sequential`, `Residual`). Run inside
/// another one's fused pass (`runsNested`, set by that container around the call) it keeps no
/// replay input: the outer container replays the whole subtree unfused before any backward
/// pass, so holding a reference to the input (which would make its producer copy its output
/// buffer on the next pass) is not needed.
protocol InferenceReplaying: AnyObject {
    /// Whether the current forward pass runs inside an outer container's fused pass.
    var runsNested: Bool { get set }
}

extension InferenceReplaying {
    /// Runs `body` with `runsNested` set.
    func nested<T>(_ body: () -> T) -> T {
        runsNested = true
        defer { runsNested = false }
        return body()
    }
}

/// Runs `body` with `layer` marked as nested when it is a container that can run fused.
func runNested<Scalar: NetworkScalar>(_ layer: any Layer<Scalar>, _ body: () -> Tensor<Scalar>) -> Tensor<Scalar> {
    guard let container = layer as? InferenceReplaying else { return body() }
    return container.nested(body)
}

extension Sequential {
    /// Switches the fused evaluation-mode steps (`InferencePlan`) on or off for this container
    /// and every `Sequential` and `Residual` inside it. Off, an evaluation pass runs every layer
    /// as written (the reference the fused passes are tested against).
    public func useInferenceFusion(_ enabled: Bool) {
        fusesInference = enabled
        visitDescendants { _, layer in
            (layer as? Sequential<Scalar>)?.fusesInference = enabled
            if let residual = layer as? Residual<Scalar> {
                residual.fusesInference = enabled
                residual.body.fusesInference = enabled
            }
        }
    }
}

extension Layer {
    /// Runs `body` with fusion off in this layer and every container inside it, then restores
    /// each container's setting (the unfused replay before a backward pass).
    func withInferenceFusionSuspended(_ body: () -> Void) {
        var saved: [(AnyObject, Bool)] = []
        func suspend(_ layer: any Layer<Scalar>) {
            if let sequential = layer as? Sequential<Scalar> {
                saved.append((sequential, sequential.fusesInference))
                sequential.fusesInference = false
            } else if let residual = layer as? Residual<Scalar> {
                saved.append((residual, residual.fusesInference))
                saved.append((residual.body, residual.body.fusesInference))
                residual.fusesInference = false
                residual.body.fusesInference = false
            }
        }
        suspend(self)
        visitDescendants { _, layer in suspend(layer) }
        body()
        for (container, enabled) in saved.reversed() {
            (container as? Sequential<Scalar>)?.fusesInference = enabled
            (container as? Residual<Scalar>)?.fusesInference = enabled
        }
    }
}
