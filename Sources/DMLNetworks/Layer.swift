import DMLNumerics

/// A differentiable network layer over batches in NCHW layout.
///
/// `forward(_:training:)` computes the output and caches what `backward(_:)` needs;
/// `backward(_:)` takes `∂L/∂output` of the last forward pass, returns `∂L/∂input` and
/// **accumulates** (`+=`) the parameter gradients, so call `zeroGradients()` before each
/// backward pass of a new step.
///
/// ```swift
/// var rng = SeededGenerator(seed: 1)
/// let model = Sequential<Float>([Linear(4, 8, generator: &rng), ReLU(), Linear(8, 2, generator: &rng)])
/// let batch = Tensor(rng.normalMatrix(rows: 5, columns: 4) as Matrix<Float>)   // 5 samples of 4 features
/// let output = model.forward(batch, training: true)                          // 5 × 2
/// model.zeroGradients()
/// let inputGradient = model.backward(Tensor(Matrix<Float>(rows: 5, columns: 2, repeating: 1)))
/// // inputGradient: ∂L/∂input for L = Σ output; the parameter gradients are accumulated in the
/// // layers (`visitParameters`), ready for an `Optimizer` step.
/// ```
///
/// Layers are `final class`es, not value types: a layer owns mutable caches (its last input or
/// patches) and reusable buffers that persist between the forward and the backward pass and
/// across iterations, and an optimizer updates its weights in place. Reference semantics
/// keeps those megabyte buffers from being copied by accident and lets a `Sequential` hold
/// layers as `any Layer<Scalar>` and mutate them without write-back. Layers are not `Sendable`:
/// one training loop owns a model.
public protocol Layer<Scalar>: AnyObject {
    /// The scalar type, `Float` for training, `Double` for gradient checks.
    associatedtype Scalar: NetworkScalar

    /// The per-sample output shape for a per-sample input shape, or an error naming what is
    /// wrong (for example a channel count that differs from the layer's).
    func outputShape(for input: TensorShape) throws -> TensorShape

    /// The output for a batch. In `training` mode batch normalization uses batch statistics
    /// and dropout drops; in evaluation mode both are deterministic.
    func forward(_ input: Tensor<Scalar>, training: Bool) -> Tensor<Scalar>

    /// `∂L/∂input` for `∂L/∂output` of the last forward pass; adds the parameter gradients.
    func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar>

    /// Calls `visit` with the name and the layer of every direct child, in forward order (a
    /// container's sub-layers; none for a leaf). The parameter, buffer and counter names of a
    /// container are its children's prefixed by `"<child name>."`, so nested containers give
    /// PyTorch-style dotted names (`layer1.0.downsample.0.weight`) for free.
    func visitChildren(_ visit: (_ name: String, _ child: any Layer<Scalar>) -> Void)

    /// Calls `visit` with the name, value and gradient of every parameter (trainable or frozen).
    func visitParameters(_ visit: (_ name: String, _ value: inout Matrix<Scalar>, _ gradient: inout Matrix<Scalar>) -> Void)

    /// Calls `visit` with the name and value of every non-trainable state tensor (batch-norm
    /// running statistics).
    func visitBuffers(_ visit: (_ name: String, _ value: inout Matrix<Scalar>) -> Void)

    /// Calls `visit` with the name and value of every integer state (dropout's mask counter).
    func visitCounters(_ visit: (_ name: String, _ value: inout Int) -> Void)

    /// Calls `visit` with the name and the logical (PyTorch) shape of every parameter and buffer,
    /// e.g. `[O, C/g, kh, kw]` for a convolution weight stored as an `O × (C/g·kh·kw)` matrix.
    func visitLogicalShapes(_ visit: (_ name: String, _ shape: [Int]) -> Void)

    /// Whether the layer's parameters are frozen: `backward` then adds nothing to their
    /// gradients and optimizers skip them (`visitTrainableParameters`). Setting it on a container
    /// sets it on every descendant; reading it on a container is true when no descendant has a
    /// trainable parameter.
    var isFrozen: Bool { get set }

    /// Whether `backward` must compute `∂L/∂input`. When false a layer may skip that work and
    /// return zeros. A container sets it on each child before the child's backward pass: true
    /// when the container's own input gradient is needed or a trainable layer comes before the
    /// child.
    var computesInputGradient: Bool { get set }
}

extension Layer {
    /// No children (a leaf layer).
    public func visitChildren(_ visit: (_ name: String, _ child: any Layer<Scalar>) -> Void) {}

    /// The children's parameters, named `"<child>.<name>"` (none for a leaf).
    public func visitParameters(_ visit: (_ name: String, _ value: inout Matrix<Scalar>, _ gradient: inout Matrix<Scalar>) -> Void) {
        visitChildren { prefix, child in
            child.visitParameters { name, value, gradient in visit(prefix + "." + name, &value, &gradient) }
        }
    }

    /// The children's buffers, named `"<child>.<name>"` (none for a leaf).
    public func visitBuffers(_ visit: (_ name: String, _ value: inout Matrix<Scalar>) -> Void) {
        visitChildren { prefix, child in
            child.visitBuffers { name, value in visit(prefix + "." + name, &value) }
        }
    }

    /// The children's counters, named `"<child>.<name>"` (none for a leaf).
    public func visitCounters(_ visit: (_ name: String, _ value: inout Int) -> Void) {
        visitChildren { prefix, child in
            child.visitCounters { name, value in visit(prefix + "." + name, &value) }
        }
    }

    /// A container: the children's logical shapes, prefixed. A leaf: each parameter and buffer
    /// stored as a `1 × n` matrix has shape `[n]` (a bias, a batch-norm statistic), any other
    /// `r × c` matrix `[r, c]` (a linear weight). Leaves with other layouts (convolutions) override it.
    public func visitLogicalShapes(_ visit: (_ name: String, _ shape: [Int]) -> Void) {
        var hasChildren = false
        visitChildren { prefix, child in
            hasChildren = true
            child.visitLogicalShapes { name, shape in visit(prefix + "." + name, shape) }
        }
        guard !hasChildren else { return }
        func shape(_ m: Matrix<Scalar>) -> [Int] { m.rows == 1 ? [m.columns] : [m.rows, m.columns] }
        visitParameters { name, value, _ in visit(name, shape(value)) }
        visitBuffers { name, value in visit(name, shape(value)) }
    }

    /// A container: true when no descendant has a trainable parameter; setting it sets every
    /// descendant. A leaf without its own stored flag: true when it has no parameters (nothing to
    /// train), false otherwise; freezing such a leaf with parameters is a programming error
    /// (a leaf with parameters must store `isFrozen` and honour it in `backward`).
    public var isFrozen: Bool {
        get {
            var hasChildren = false, frozen = true
            visitChildren { _, child in
                hasChildren = true
                if !child.isFrozen { frozen = false }
            }
            return hasChildren ? frozen : parameterCount == 0
        }
        set {
            var hasChildren = false
            visitChildren { _, child in
                hasChildren = true
                child.isFrozen = newValue
            }
            precondition(hasChildren || !newValue || parameterCount == 0,
                         "\(type(of: self)) has parameters but no stored isFrozen, so it cannot be frozen")
        }
    }

    /// A layer without its own flag always computes `∂L/∂input` (its backward is cheap).
    public var computesInputGradient: Bool {
        get { true }
        set {}
    }

    /// Calls `visit` for every parameter of a layer that is not frozen (what optimizers update).
    public func visitTrainableParameters(_ visit: (_ name: String, _ value: inout Matrix<Scalar>, _ gradient: inout Matrix<Scalar>) -> Void) {
        var hasChildren = false
        visitChildren { prefix, child in
            hasChildren = true
            child.visitTrainableParameters { name, value, gradient in visit(prefix + "." + name, &value, &gradient) }
        }
        if !hasChildren && !isFrozen { visitParameters(visit) }
    }

    /// Whether some parameter of this layer or a descendant is trainable (not frozen).
    public var hasTrainableParameters: Bool {
        var found = false
        visitTrainableParameters { _, _, _ in found = true }
        return found
    }

    /// Calls `visit` with the dotted path and the layer of every descendant, depth first in
    /// forward order, each container before its children (`"layer1"`, `"layer1.0"`,
    /// `"layer1.0.conv1"`, …). The layer itself is not visited.
    public func visitDescendants(_ visit: (_ path: String, _ layer: any Layer<Scalar>) -> Void) {
        visitChildren { name, child in
            visit(name, child)
            child.visitDescendants { path, layer in visit(name + "." + path, layer) }
        }
    }

    /// The descendant at a dotted path (`"layer1.0.conv1"`), or nil.
    public func descendant(at path: String) -> (any Layer<Scalar>)? {
        var found: (any Layer<Scalar>)?
        visitDescendants { p, layer in if found == nil && p == path { found = layer } }
        return found
    }

    /// Sets every parameter gradient to 0.
    public func zeroGradients() {
        visitParameters { _, _, gradient in
            let n = gradient.count
            gradient.withUnsafeMutableBufferPointer { Scalar.fill($0.baseAddress!, count: n, value: 0) }
        }
    }

    /// The total number of trainable scalars.
    public var parameterCount: Int {
        var total = 0
        visitParameters { _, value, _ in total += value.count }
        return total
    }

    /// `forward(input, training: false)`: inference on a batch of samples.
    public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        forward(input, training: false)
    }
}

/// A layer could not be built or applied to an input shape.
public struct NetworkShapeError: Error, CustomStringConvertible, Equatable {
    /// The layer's name or kind.
    public let layer: String
    /// What was expected and what was found.
    public let reason: String

    /// An error for `layer`.
    public init(layer: String, reason: String) {
        self.layer = layer
        self.reason = reason
    }

    public var description: String { "\(layer): \(reason)" }
}

/// Helpers for buffers reused across iterations.
extension Matrix where Scalar: NetworkScalar {
    /// Makes `self` a `rows × columns` matrix, keeping the existing storage when the shape already
    /// matches (contents are then stale and must be overwritten).
    mutating func reshapeForReuse(rows: Int, columns: Int) {
        if self.rows != rows || self.columns != columns { self = .zeros(rows: rows, columns: columns) }
    }

    /// A `rows × columns` matrix of zeros, filled by the specialized `fill` kernel (the generic
    /// `Matrix(rows:columns:)` initializes element by element when called from unspecialized code).
    static func zeros(rows: Int, columns: Int) -> Matrix {
        let count = rows * columns
        let elements = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { Scalar.fill(buffer.baseAddress!, count: count, value: 0) }
            initialized = count
        }
        return Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// An empty `0 × 0` matrix, used to drop a cache so its storage can be reused upstream.
    static var empty: Matrix { Matrix(rows: 0, columns: 0) }
}

/// Runs `body` with the pointers of an input and an output matrix (not at all when either is
/// empty, so an empty batch passes through every layer).
@inlinable
func withPointers<T: BLASScalar>(
    _ input: Matrix<T>, _ output: inout Matrix<T>,
    _ body: (UnsafePointer<T>, UnsafeMutablePointer<T>) -> Void
) {
    guard input.count > 0, output.count > 0 else { return }
    input.withUnsafeBufferPointer { i in
        output.withUnsafeMutableBufferPointer { o in body(i.baseAddress!, o.baseAddress!) }
    }
}
