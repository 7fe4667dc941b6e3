import DMLNumerics

/// Average pooling over each channel with a `k × k` window and stride `s` (default `s = k`),
/// no padding: `y = (1/k²) Σ_{i,j<k} x[n, c, oh·s + i, ow·s + j]`; backward spreads `g/k²` over
/// each window.
public final class AvgPool2D<Scalar: NetworkScalar>: Layer {
    private var window: PoolingWindow<Scalar>

    /// Window size `k`.
    public var kernelSize: Int { window.kernelSize }
    /// Stride `s`.
    public var stride: Int { window.stride }

    /// A `k × k` average pooling with stride `s` (`k` when nil).
    public init(kernelSize: Int, stride: Int? = nil) {
        window = PoolingWindow(kind: "AvgPool2D", kernelSize: kernelSize, stride: stride)
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { try window.pooled(input).shape }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        let (shape, g, planes) = window.beginForward(x)
        withPointers(x.values, &window.output) { Scalar.averagePoolForward($0, into: $1, planes: planes, geometry: g) }
        return Tensor(window.output, shape: shape)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        let (g, planes) = window.beginBackward(gradient)
        withPointers(gradient.values, &window.inputGradient) { Scalar.averagePoolBackward($0, into: $1, planes: planes, geometry: g) }
        return Tensor(window.inputGradient, shape: window.inputShape)
    }
}
