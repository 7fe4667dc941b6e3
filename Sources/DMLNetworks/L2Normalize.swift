import DMLNumerics

/// Row-wise L2 normalization `y_i = x_i / ‖x_i‖`, the usual last layer of an embedding network.
/// The norm is clamped at `ε` (1e-12 by default, as `torch.nn.functional.normalize`).
///
/// Exact backward: `∂L/∂x_i = (g_i − y_i (y_i · g_i)) / ‖x_i‖`. With a pool, contiguous row
/// ranges run on its workers (the same numbers at every thread count).
public final class L2Normalize<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool the rows are split over (nil: the calling thread).
    public var pool: ThreadPool?
    /// The norm clamp `ε`.
    public let epsilon: Scalar
    private var output = Matrix<Scalar>.empty
    private var norms = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// An L2 normalization layer with norm clamp `epsilon`.
    public init(epsilon: Scalar = 1e-12) {
        self.epsilon = epsilon
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { input }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        let rows = x.values.rows, columns = x.values.columns, eps = epsilon
        output.reshapeForReuse(rows: rows, columns: columns)
        norms.reshapeForReuse(rows: rows, columns: 1)
        let pool = pool, grain = Swift.max(1, elementwiseGrain / Swift.max(columns, 1))
        norms.withUnsafeMutableBufferPointer { np in
            withPointers(x.values, &output) { xp, yp in
                let out = WorkerPointer(yp), norm = WorkerPointer(np.baseAddress!)
                pool.parallelFor(count: rows, minimumChunk: grain) { r in
                    Scalar.l2NormalizeRows(xp + r.lowerBound * columns, rows: r.count, columns: columns, epsilon: eps,
                                           into: out.base + r.lowerBound * columns, norms: norm.base + r.lowerBound)
                }
            }
        }
        return Tensor(output, shape: x.shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(g.values.rows == output.rows && g.values.columns == output.columns, "L2Normalize.backward: gradient shape differs from the output")
        let rows = output.rows, columns = output.columns, eps = epsilon
        inputGradient.reshapeForReuse(rows: rows, columns: columns)
        let pool = pool, grain = Swift.max(1, elementwiseGrain / Swift.max(columns, 1))
        norms.withUnsafeBufferPointer { np in
            output.withUnsafeBufferPointer { yp in
                withPointers(g.values, &inputGradient) { gp, dx in
                    let out = WorkerPointer(dx)
                    pool.parallelFor(count: rows, minimumChunk: grain) { r in
                        let offset = r.lowerBound * columns
                        Scalar.l2NormalizeBackward(gp + offset, output: yp.baseAddress! + offset, norms: np.baseAddress! + r.lowerBound,
                                                   rows: r.count, columns: columns, epsilon: eps, into: out.base + offset)
                    }
                }
            }
        }
        return Tensor(inputGradient, shape: g.shape)
    }
}
