import DMLNumerics

/// Max pooling over each channel, as PyTorch's `MaxPool2d`: window `kh × kw`, stride (the
/// window by default), implicit padding that never wins (`-∞`), floor or ceil mode (see
/// `PoolingGeometry`; in ceil mode no window starts in the bottom/right padding):
/// `y[n, c, oh, ow] = max` of `x[n, c, oh·sh − top + i, ow·sw − left + j]` over the window
/// positions inside the image. Backward routes each output gradient to the position of its
/// maximum (the first one in row-major window order on ties, as PyTorch).
///
/// With a pool, contiguous ranges of planes run on its workers (the same numbers at every
/// thread count).
public final class MaxPool2D<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool the planes are split over (nil: the calling thread).
    public var pool: ThreadPool?
    /// The fewest input values a worker's chunk of planes holds, so small layers stay on the
    /// calling thread.
    public var minimumParallelElements = elementwiseGrain
    private var window: PoolingWindow<Scalar>
    private var argmax: [Int32] = []
    private var scratch = WorkerScratch<Scalar>(workers: 1)

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

    /// A `k × k` max pooling with stride `s` (`k` when nil), padding `p` on every side and
    /// PyTorch's `ceil_mode` (torchvision's GoogLeNet: `MaxPool2D(kernelSize: 3, stride: 2, ceilMode: true)`).
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false) {
        window = PoolingWindow(kind: "MaxPool2D", kernel: Size2D(kernelSize), stride: stride.map { Size2D($0) },
                               padding: Padding2D(padding), ceilMode: ceilMode)
    }

    /// A max pooling with a rectangular window, stride and per-side padding.
    public init(kernel: Size2D, stride: Size2D? = nil, padding: Padding2D = .zero, ceilMode: Bool = false) {
        window = PoolingWindow(kind: "MaxPool2D", kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { try window.pooled(input).shape }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        let (shape, g, planes) = window.beginForward(x)
        if argmax.count != x.batch * shape.count { argmax = [Int32](repeating: 0, count: x.batch * shape.count) }
        let inPlane = g.height * g.width, outPlane = g.outputHeight * g.outputWidth
        let pool = pool, grain = minimumParallelElements
        argmax.withUnsafeMutableBufferPointer { arg in
            let indices = WorkerPointer(arg.baseAddress!)
            withPointers(x.values, &window.output) { xp, yp in
                let out = WorkerPointer(yp)
                PoolingWindow<Scalar>.forEachPlaneRange(planes, geometry: g, pool: pool, minimumElements: grain) { r in
                    Scalar.maxPoolForward(xp + r.lowerBound * inPlane, into: out.base + r.lowerBound * outPlane,
                                          argmax: indices.base + r.lowerBound * outPlane, planes: r.count, geometry: g)
                }
            }
        }
        return Tensor(window.output, shape: shape)
    }

    /// The evaluation-mode pass of a fused plan (`InferencePlan`): the same values, without
    /// recording the maxima's positions (no backward pass follows without a replay), by
    /// `maxPoolValues`.
    func forwardInference(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
        let (shape, g, planes) = window.beginForward(x)
        let inPlane = g.height * g.width, outPlane = g.outputHeight * g.outputWidth
        let pool = pool, grain = minimumParallelElements
        let workers = pool?.threadCount ?? 1
        if scratch.workers < workers { scratch = WorkerScratch(workers: workers) }
        let rows = (0..<workers).map { SendablePointer(scratch.buffer($0, count: 2 * g.width)) }
        withPointers(x.values, &window.output) { xp, yp in
            let out = WorkerPointer(yp)
            if let pool, pool.chunkCount(count: planes, minimumChunk: Swift.max(1, grain / Swift.max(1, inPlane))) > 1 {
                pool.parallelFor(count: planes, minimumChunk: Swift.max(1, grain / Swift.max(1, inPlane))) { r, worker in
                    Scalar.maxPoolValues(xp + r.lowerBound * inPlane, into: out.base + r.lowerBound * outPlane, planes: r.count,
                                         geometry: g, scratch: rows[worker].pointer)
                }
            } else if planes > 0 {
                Scalar.maxPoolValues(xp, into: out.base, planes: planes, geometry: g, scratch: rows[0].pointer)
            }
        }
        return Tensor(window.output, shape: shape)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        let (g, planes) = window.beginBackward(gradient)
        let inPlane = g.height * g.width, outPlane = g.outputHeight * g.outputWidth
        let pool = pool, grain = minimumParallelElements
        argmax.withUnsafeBufferPointer { arg in
            withPointers(gradient.values, &window.inputGradient) { gp, dx in
                let out = WorkerPointer(dx)
                PoolingWindow<Scalar>.forEachPlaneRange(planes, geometry: g, pool: pool, minimumElements: grain) { r in
                    Scalar.maxPoolBackward(gp + r.lowerBound * outPlane, argmax: arg.baseAddress! + r.lowerBound * outPlane,
                                           into: out.base + r.lowerBound * inPlane, planes: r.count, geometry: g)
                }
            }
        }
        return Tensor(window.inputGradient, shape: window.inputShape)
    }
}
