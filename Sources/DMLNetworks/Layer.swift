import DMLNumerics

/// A differentiable network layer over batches in NCHW layout.
///
/// `forward(_:training:)` computes the output and caches what `backward(_:)` needs;
/// `backward(_:)` takes `∂L/∂output` of the last forward pass, returns `∂L/∂input` and
/// **accumulates** (`+=`) the parameter gradients, so call `zeroGradients()` before each
/// backward pass of a new step.
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

    /// Calls `visit` with the name, value and gradient of every trainable parameter.
    func visitParameters(_ visit: (_ name: String, _ value: inout Matrix<Scalar>, _ gradient: inout Matrix<Scalar>) -> Void)

    /// Calls `visit` with the name and value of every non-trainable state tensor (batch-norm
    /// running statistics).
    func visitBuffers(_ visit: (_ name: String, _ value: inout Matrix<Scalar>) -> Void)

    /// Calls `visit` with the name and value of every integer state (dropout's mask counter).
    func visitCounters(_ visit: (_ name: String, _ value: inout Int) -> Void)
}

extension Layer {
    /// No trainable parameters.
    public func visitParameters(_ visit: (_ name: String, _ value: inout Matrix<Scalar>, _ gradient: inout Matrix<Scalar>) -> Void) {}
    /// No buffers.
    public func visitBuffers(_ visit: (_ name: String, _ value: inout Matrix<Scalar>) -> Void) {}
    /// No counters.
    public func visitCounters(_ visit: (_ name: String, _ value: inout Int) -> Void) {}

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
