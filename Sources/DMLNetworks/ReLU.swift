import DMLNumerics

/// The rectifier `y = max(x, 0)`, elementwise; backward `∂L/∂x = ∂L/∂y · [y > 0]` (the
/// subgradient 0 is used at `x = 0`, as PyTorch does). With a pool, contiguous element ranges
/// run on its workers (the same numbers at every thread count).
public final class ReLU<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool the elementwise loops are split over (nil: the calling thread).
    public var pool: ThreadPool?
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// A ReLU layer.
    public init() {}

    public func outputShape(for input: TensorShape) throws -> TensorShape { input }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        output.reshapeForReuse(rows: x.values.rows, columns: x.values.columns)
        let n = x.values.count
        let pool = pool
        withPointers(x.values, &output) { x, y in
            let out = WorkerPointer(y)
            pool.parallelFor(count: n, minimumChunk: elementwiseGrain) { r in
                Scalar.reluForward(x + r.lowerBound, into: out.base + r.lowerBound, count: r.count)
            }
        }
        return Tensor(output, shape: x.shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(g.values.rows == output.rows && g.values.columns == output.columns, "ReLU.backward: gradient shape differs from the output")
        inputGradient.reshapeForReuse(rows: output.rows, columns: output.columns)
        let n = output.count
        output.withUnsafeBufferPointer { y in
            let pool = pool
            withPointers(g.values, &inputGradient) { gp, dx in
                let out = WorkerPointer(dx)
                pool.parallelFor(count: n, minimumChunk: elementwiseGrain) { r in
                    Scalar.reluBackward(gp + r.lowerBound, output: y.baseAddress! + r.lowerBound, into: out.base + r.lowerBound, count: r.count)
                }
            }
        }
        return Tensor(inputGradient, shape: g.shape)
    }
}
