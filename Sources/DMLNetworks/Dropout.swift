import DMLNumerics

/// Inverted dropout: in training mode each value is kept with probability `1 − p` and scaled by
/// `1/(1 − p)`, else set to 0 (`y = x · mask`); in evaluation mode `y = x`. Backward:
/// `∂L/∂x = g · mask`.
///
/// Deterministic: the mask of the `t`-th training forward pass is drawn in blocks of
/// `maskBlock` values, block `b` from `SeededGenerator(seed: s_t, stream: b)` with
/// `s_t = SeededGenerator(seed: seed, stream: t).next()`, so the same seed gives the same masks
/// at every thread count (blocks are drawn in parallel on the pool), and the counter `t` (a
/// checkpointed counter, `visitCounters`) is all the state needed to resume.
public final class Dropout<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// Mask values drawn from one generator stream.
    public static var maskBlock: Int { 1 << 14 }
    /// The pool the mask blocks and the products are split over (nil: the calling thread).
    public var pool: ThreadPool?
    /// The drop probability `p`, in `[0, 1)`.
    public let probability: Double
    /// The seed of the mask streams.
    public let seed: UInt64
    /// The number of training forward passes so far (`t`).
    public var forwardCount = 0
    private var mask = Matrix<Scalar>.empty
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty
    private var masked = false

    /// Dropout with drop probability `probability` and mask seed `seed`.
    public init(probability: Double, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "Dropout probability must be in [0, 1), got \(probability)")
        self.probability = probability
        self.seed = seed
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { input }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        masked = training && probability > 0
        guard masked else { return x }
        var passGenerator = SeededGenerator(seed: seed, stream: UInt64(forwardCount))
        let passSeed = passGenerator.next()
        forwardCount += 1
        let n = x.values.count, p = probability, block = Self.maskBlock, pool = pool
        let blocks = (n + block - 1) / block
        mask.reshapeForReuse(rows: x.values.rows, columns: x.values.columns)
        output.reshapeForReuse(rows: x.values.rows, columns: x.values.columns)
        mask.withUnsafeMutableBufferPointer { m in
            withPointers(x.values, &output) { xp, yp in
                let out = WorkerPointer(yp), maskPointer = WorkerPointer(m.baseAddress!)
                pool.parallelFor(count: blocks, minimumChunk: 2) { range in
                    for b in range {
                        let start = b * block, count = Swift.min(block, n - start)
                        var generator = SeededGenerator(seed: passSeed, stream: UInt64(b))
                        Scalar.dropoutMask(into: maskPointer.base + start, count: count, dropProbability: p, generator: &generator)
                        Scalar.multiply(xp + start, maskPointer.base + start, into: out.base + start, count: count)
                    }
                }
            }
        }
        return Tensor(output, shape: x.shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        guard masked else { return g }
        precondition(g.values.rows == mask.rows && g.values.columns == mask.columns, "Dropout.backward: gradient shape differs from the output")
        let n = g.values.count
        inputGradient.reshapeForReuse(rows: mask.rows, columns: mask.columns)
        let pool = pool
        mask.withUnsafeBufferPointer { m in
            withPointers(g.values, &inputGradient) { gp, dx in
                let out = WorkerPointer(dx)
                pool.parallelFor(count: n, minimumChunk: elementwiseGrain) { r in
                    Scalar.multiply(gp + r.lowerBound, m.baseAddress! + r.lowerBound, into: out.base + r.lowerBound, count: r.count)
                }
            }
        }
        return Tensor(inputGradient, shape: g.shape)
    }

    public func visitCounters(_ visit: (String, inout Int) -> Void) {
        visit("forwardCount", &forwardCount)
    }
}
