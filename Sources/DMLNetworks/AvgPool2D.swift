import DMLNumerics

/// Average pooling over each channel, as PyTorch's `AvgPool2d`: window `kh × kw`, stride (the
/// window by default), implicit zero padding, floor or ceil mode (see `PoolingGeometry`):
/// `y = (1/D) Σ x` over the window positions inside the image, where `D` is the window clipped
/// to the padded input when `countIncludesPadding` (PyTorch's `count_include_pad=True`, the
/// default; a ceil-mode window running past the padding counts only up to its end) and the
/// number of image positions in the window otherwise. Backward spreads `g/D` over each window.
///
/// With a pool, contiguous ranges of planes run on its workers (the same numbers at every
/// thread count).
public final class AvgPool2D<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool the planes are split over (nil: the calling thread).
    public var pool: ThreadPool?
    /// The fewest input values a worker's chunk of planes holds, so small layers stay on the
    /// calling thread.
    public var minimumParallelElements = elementwiseGrain
    private var window: PoolingWindow<Scalar>
    /// Whether padded positions count in the divisor.
    public let countIncludesPadding: Bool

    /// Window size (height; the window is square unless built with `kernel:`).
    public var kernelSize: Int { window.kernel.height }
    /// Stride (height).
    public var stride: Int { window.stride.height }
    /// The window.
    public var kernel: Size2D { window.kernel }
    /// The stride.
    public var strides: Size2D { window.stride }
    /// The implicit padding.
    public var padding: Padding2D { window.padding }
    /// Whether the output size rounds up.
    public var ceilMode: Bool { window.ceilMode }

    /// A `k × k` average pooling with stride `s` (`k` when nil), padding `p` on every side.
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false, countIncludesPadding: Bool = true) {
        window = PoolingWindow(kind: "AvgPool2D", kernel: Size2D(kernelSize), stride: stride.map { Size2D($0) },
                               padding: Padding2D(padding), ceilMode: ceilMode)
        self.countIncludesPadding = countIncludesPadding
    }

    /// An average pooling with a rectangular window, stride and per-side padding.
    public init(kernel: Size2D, stride: Size2D? = nil, padding: Padding2D = .zero, ceilMode: Bool = false, countIncludesPadding: Bool = true) {
        window = PoolingWindow(kind: "AvgPool2D", kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
        self.countIncludesPadding = countIncludesPadding
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { try window.pooled(input).shape }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        let (shape, g, planes) = window.beginForward(x)
        let include = countIncludesPadding
        let inPlane = g.height * g.width, outPlane = g.outputHeight * g.outputWidth
        let pool = pool, grain = minimumParallelElements
        withPointers(x.values, &window.output) { xp, yp in
            let out = WorkerPointer(yp)
            PoolingWindow<Scalar>.forEachPlaneRange(planes, geometry: g, pool: pool, minimumElements: grain) { r in
                Scalar.averagePoolForward(xp + r.lowerBound * inPlane, into: out.base + r.lowerBound * outPlane, planes: r.count,
                                          geometry: g, countIncludesPadding: include)
            }
        }
        return Tensor(window.output, shape: shape)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        let (g, planes) = window.beginBackward(gradient)
        let include = countIncludesPadding
        let inPlane = g.height * g.width, outPlane = g.outputHeight * g.outputWidth
        let pool = pool, grain = minimumParallelElements
        withPointers(gradient.values, &window.inputGradient) { gp, dx in
            let out = WorkerPointer(dx)
            PoolingWindow<Scalar>.forEachPlaneRange(planes, geometry: g, pool: pool, minimumElements: grain) { r in
                Scalar.averagePoolBackward(gp + r.lowerBound * outPlane, into: out.base + r.lowerBound * inPlane, planes: r.count,
                                           geometry: g, countIncludesPadding: include)
            }
        }
        return Tensor(window.inputGradient, shape: window.inputShape)
    }
}
