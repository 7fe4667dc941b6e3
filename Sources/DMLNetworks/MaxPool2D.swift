import DMLNumerics

/// Max pooling over each channel with a `k × k` window and stride `s` (default `s = k`), no
/// padding: `y[n, c, oh, ow] = max_{i,j<k} x[n, c, oh·s + i, ow·s + j]`. Backward routes each
/// output gradient to the position of its maximum (the first one on ties).
public final class MaxPool2D<Scalar: NetworkScalar>: Layer {
    private var window: PoolingWindow<Scalar>
    private var argmax: [Int32] = []

    /// Window size `k`.
    public var kernelSize: Int { window.kernelSize }
    /// Stride `s`.
    public var stride: Int { window.stride }

    /// A `k × k` max pooling with stride `s` (`k` when nil).
    public init(kernelSize: Int, stride: Int? = nil) {
        window = PoolingWindow(kind: "MaxPool2D", kernelSize: kernelSize, stride: stride)
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { try window.pooled(input).shape }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        let (shape, g, planes) = window.beginForward(x)
        if argmax.count != x.batch * shape.count { argmax = [Int32](repeating: 0, count: x.batch * shape.count) }
        argmax.withUnsafeMutableBufferPointer { arg in
            withPointers(x.values, &window.output) { Scalar.maxPoolForward($0, into: $1, argmax: arg.baseAddress!, planes: planes, geometry: g) }
        }
        return Tensor(window.output, shape: shape)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        let (g, planes) = window.beginBackward(gradient)
        argmax.withUnsafeBufferPointer { arg in
            withPointers(gradient.values, &window.inputGradient) { Scalar.maxPoolBackward($0, argmax: arg.baseAddress!, into: $1, planes: planes, geometry: g) }
        }
        return Tensor(window.inputGradient, shape: window.inputShape)
    }
}
