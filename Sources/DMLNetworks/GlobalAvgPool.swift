import DMLNumerics

/// Global average pooling: `y[n, c] = (1/(H·W)) Σ_{h,w} x[n, c, h, w]`, output `C × 1 × 1`;
/// backward spreads `g[n, c]/(H·W)` over the plane. With a pool, contiguous ranges of planes
/// run on its workers (the same numbers at every thread count).
public final class GlobalAvgPool<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool the planes are split over (nil: the calling thread).
    public var pool: ThreadPool?
    private var inputShape = TensorShape.vector(0)
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// A global average pooling layer.
    public init() {}

    public func outputShape(for input: TensorShape) throws -> TensorShape { .vector(input.channels) }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        inputShape = x.shape
        let planes = x.batch * x.shape.channels, spatial = x.shape.spatialCount
        output.reshapeForReuse(rows: x.batch, columns: x.shape.channels)
        let pool = pool, grain = Swift.max(1, elementwiseGrain / Swift.max(spatial, 1))
        withPointers(x.values, &output) { x, y in
            let out = WorkerPointer(y)
            pool.parallelFor(count: planes, minimumChunk: grain) { r in
                Scalar.planeMeans(x + r.lowerBound * spatial, into: out.base + r.lowerBound, planes: r.count, spatial: spatial)
            }
        }
        return Tensor(output)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(gradient.values.rows == output.rows && gradient.values.columns == output.columns, "GlobalAvgPool.backward: gradient shape differs from the output")
        let planes = gradient.batch * inputShape.channels, spatial = inputShape.spatialCount
        inputGradient.reshapeForReuse(rows: gradient.batch, columns: inputShape.count)
        let pool = pool, grain = Swift.max(1, elementwiseGrain / Swift.max(spatial, 1))
        withPointers(gradient.values, &inputGradient) { g, dx in
            let out = WorkerPointer(dx)
            pool.parallelFor(count: planes, minimumChunk: grain) { r in
                Scalar.planeMeansBackward(g + r.lowerBound, into: out.base + r.lowerBound * spatial, planes: r.count, spatial: spatial)
            }
        }
        return Tensor(inputGradient, shape: inputShape)
    }
}
