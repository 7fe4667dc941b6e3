import DMLNumerics

/// The value of a loss on a batch and its exact gradient with respect to the embeddings.
public struct LossOutput<T: BLASScalar>: Sendable {
    /// `L(X)`.
    public var value: T
    /// `∂L/∂X`, the same shape as the embeddings `X`.
    public var gradient: Matrix<T>
    /// The share of mined hardest negative pairs (angular: hardest points) whose chosen pair
    /// involves at least one synthetic point; `nil` when nothing was synthesized.
    public var syntheticFraction: Double?

    /// A loss value with its gradient.
    public init(value: T, gradient: Matrix<T>, syntheticFraction: Double? = nil) {
        self.value = value
        self.gradient = gradient
        self.syntheticFraction = syntheticFraction
    }
}
