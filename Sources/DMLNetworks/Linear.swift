import DMLNumerics

/// A fully connected layer `y = x Wᵀ + b` with `W` of shape `out × in` (PyTorch's layout) and
/// an optional bias `b` of length `out`. The input is flattened: any `C × H × W` with
/// `C·H·W = in` is accepted.
///
/// Backward: `∂L/∂x = G W`, `∂L/∂W += Gᵀ x`, `∂L/∂b += Σ_rows G` (two GEMMs and a column sum;
/// a frozen layer skips the parameter gradients).
///
/// With a pool, a GEMM of at least `parallelWork` multiply-adds is split into one GEMM per
/// worker (single-threaded BLAS): `x Wᵀ` and `G W` by batch rows, `Gᵀ x` by output features,
/// so each worker writes its own rows and no partial sums have to be reduced.
public final class Linear<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool large GEMMs are split over (nil: one GEMM on the calling thread).
    public var pool: ThreadPool?
    /// The multiply-adds (`m·n·k`) from which a GEMM is split over the pool.
    public var parallelWork = 1 << 22
    /// The weights `W`, `out × in`.
    public var weight: Matrix<Scalar>
    /// `∂L/∂W`.
    public var weightGradient: Matrix<Scalar>
    /// The bias `b` as a `1 × out` matrix, or nil.
    public var bias: Matrix<Scalar>?
    /// `∂L/∂b`.
    public var biasGradient: Matrix<Scalar>?
    /// Instrumentation: when set, every GEMM of this layer runs through it (see `GEMMObserver`).
    public var gemmObserver: (any GEMMObserver)?
    /// Whether `backward` computes `∂L/∂x` (off for the first layer of a network, whose input
    /// is data; `backward` then returns zeros for `∂L/∂x`).
    public var computesInputGradient = true
    /// Whether the parameters are frozen (no gradient is computed for them).
    public var isFrozen = false

    private var input = Matrix<Scalar>.empty
    private var inputShape = TensorShape.vector(0)
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// Input dimension.
    public var inputDimension: Int { weight.columns }
    /// Output dimension.
    public var outputDimension: Int { weight.rows }

    /// A layer `in → out` with weights from `initialization` (fanIn = in, fanOut = out) and a zero bias.
    public init(_ inputDimension: Int, _ outputDimension: Int, bias: Bool = true,
                initialization: Initialization = .heNormal, generator: inout SeededGenerator) {
        weight = initialization.weights(rows: outputDimension, columns: inputDimension,
                                        fanIn: inputDimension, fanOut: outputDimension, generator: &generator)
        weightGradient = Matrix(rows: outputDimension, columns: inputDimension)
        self.bias = bias ? Matrix(rows: 1, columns: outputDimension) : nil
        biasGradient = bias ? Matrix(rows: 1, columns: outputDimension) : nil
    }

    /// A layer with the given weights (`out × in`) and optional bias (`1 × out`).
    public init(weight: Matrix<Scalar>, bias: Matrix<Scalar>?) {
        precondition(bias == nil || (bias!.rows == 1 && bias!.columns == weight.rows), "bias must be 1 × out")
        self.weight = weight
        weightGradient = Matrix(rows: weight.rows, columns: weight.columns)
        self.bias = bias
        biasGradient = bias.map { Matrix(rows: $0.rows, columns: $0.columns) }
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        guard input.count == inputDimension else {
            throw NetworkShapeError(layer: "Linear(\(inputDimension)→\(outputDimension))",
                                    reason: "expected \(inputDimension) input values per sample, got \(input) = \(input.count)")
        }
        return .vector(outputDimension)
    }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        precondition(x.shape.count == inputDimension, "Linear expects \(inputDimension) inputs, got \(x.shape)")
        input = x.values
        inputShape = x.shape
        output.reshapeForReuse(rows: x.batch, columns: outputDimension)
        gemmObserver.observe { product(x.values, weight, transB: .transpose, into: &output) }
        if let bias {
            let rows = x.batch, columns = outputDimension
            withPointers(bias, &output) { b, y in Scalar.addRowVector(b, to: y, rows: rows, columns: columns) }
        }
        return Tensor(output)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(g.batch == input.rows && g.shape.count == outputDimension, "Linear.backward: gradient shape differs from the output")
        if !isFrozen {
            gemmObserver.observe { product(g.values, input, transA: .transpose, beta: 1, into: &weightGradient) }
        }
        if computesInputGradient {
            inputGradient.reshapeForReuse(rows: g.batch, columns: inputDimension)
            gemmObserver.observe { product(g.values, weight, into: &inputGradient) }
        } else if inputGradient.rows != g.batch || inputGradient.columns != inputDimension {
            inputGradient = .zeros(rows: g.batch, columns: inputDimension)
        }
        if biasGradient != nil && !isFrozen {
            let rows = g.batch, columns = outputDimension
            withPointers(g.values, &biasGradient!) { gp, s in Scalar.accumulateColumnSums(gp, rows: rows, columns: columns, into: s) }
        }
        input = .empty
        return Tensor(inputGradient, shape: inputShape)
    }

    public func visitLogicalShapes(_ visit: (String, [Int]) -> Void) {
        visit("weight", [outputDimension, inputDimension])
        if bias != nil { visit("bias", [outputDimension]) }
    }

    /// `C = op(A) op(B) + β C` (`C` is `m × n`, `k` the inner dimension): with a pool of more
    /// than one thread, `m ≥ 2` and at least `parallelWork` multiply-adds, one single-threaded
    /// GEMM per worker on its own contiguous rows of `C` (the same rows of `op(A)`, all of
    /// `op(B)`), so no partial sums are reduced; otherwise one `Matrix.gemm`.
    private func product(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>, transA: Transpose = .none, transB: Transpose = .none,
                         beta: Scalar = 0, into c: inout Matrix<Scalar>) {
        let (m, k) = transA == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        let n = transB == .none ? b.columns : b.rows
        guard let pool, pool.threadCount > 1, m >= 2, m * n * k >= parallelWork else {
            Matrix.gemm(a, b, transA: transA, transB: transB, beta: beta, into: &c)
            return
        }
        precondition(c.rows == m && c.columns == n, "GEMM output is \(c.rows)×\(c.columns), expected \(m)×\(n)")
        // Row r of op(A) starts at row r of A, or at its column r when A is transposed.
        let lda = a.columns, ldb = b.columns, rowStride = transA == .none ? lda : 1
        withPointers(a, &c) { ap, cp in
            b.withUnsafeBufferPointer { bp in
                let out = WorkerPointer(cp)
                BLASThreads.with(1) {
                    pool.parallelFor(count: m) { rows, _ in
                        Scalar.gemm(transA, transB, m: rows.count, n: n, k: k, alpha: 1, a: ap + rows.lowerBound * rowStride,
                                    lda: lda, b: bp.baseAddress!, ldb: ldb, beta: beta, c: out.base + rows.lowerBound * n, ldc: n)
                    }
                }
            }
        }
    }

    public func visitParameters(_ visit: (String, inout Matrix<Scalar>, inout Matrix<Scalar>) -> Void) {
        visit("weight", &weight, &weightGradient)
        if bias != nil { visit("bias", &bias!, &biasGradient!) }
    }
}
