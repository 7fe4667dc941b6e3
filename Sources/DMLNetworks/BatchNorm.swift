import DMLNumerics

/// Batch normalization over the channels of NCHW activations (PyTorch's `BatchNorm2d`; for
/// vectors `d × 1 × 1` it is `BatchNorm1d`).
///
/// Training mode normalizes with the batch statistics over the `M = N·H·W` values of each
/// channel, `μ_c = (1/M) Σ x`, `σ²_c = (1/M) Σ (x − μ_c)²` (biased):
/// `y = γ_c (x − μ_c)/√(σ²_c + ε) + β_c`, and updates the running statistics as PyTorch does,
/// `μ̄ ← (1 − m) μ̄ + m μ_c`, `σ̄² ← (1 − m) σ̄² + m σ²_c · M/(M − 1)` (unbiased variance).
/// Evaluation mode uses `μ̄`, `σ̄²` instead. torchvision uses `ε = 1e-5`, `m = 0.1` (the
/// defaults); the EfficientNet-Lite reference `ε = 1e-3`, `m = 0.01` (TensorFlow's 0.99 decay).
///
/// **Frozen statistics** (`freezesStatistics`, the usual choice when fine-tuning with few
/// samples per class): training mode too uses `μ̄`, `σ̄²` and leaves them unchanged.
///
/// Backward with batch statistics: `∂L/∂x = γ_c r_c / M · (M g − Σ g − x̂ Σ g x̂)` with
/// `r_c = 1/√(σ²_c + ε)`, `x̂ = (x − μ_c) r_c`; with running statistics (evaluation or frozen
/// statistics) `∂L/∂x = γ_c r_c g`. `∂L/∂γ_c += Σ g x̂`, `∂L/∂β_c += Σ g` unless the layer's
/// parameters are frozen (`isFrozen`).
///
/// **Synchronized statistics** (`synchronizer`, data-parallel training over several replicas
/// that each hold some rows of one batch): training mode normalizes with the statistics of the
/// whole batch. Each replica's per-channel count `n_r`, mean `μ_r` and `M2_r = Σ (x − μ_r)²` are
/// gathered and combined (`BatchStatisticsCombination`, the same bits on every replica), `M`
/// above becomes the global count `Σ_r n_r`, the running statistics follow the global
/// statistics (unbiased over `M`), and the backward pass sums its two per-channel reductions
/// `Σ g` and `Σ g x̂` over the replicas before forming `∂L/∂x`; `∂L/∂γ` and `∂L/∂β` keep this
/// replica's share (the trainer sums parameter gradients over the replicas). So `N`
/// replicas compute the single-process layer up to rounding, at the price of one gather of
/// `2C + 1` values per forward pass and one sum of `2C` values per backward pass. Frozen
/// statistics and evaluation mode never communicate.
///
/// **Fused activation** (`activation`, nil by default): the layer computes `f(BN(x))` with `f`
/// ReLU or ReLU6, as a batch norm followed by `ReLU`/`Activation` would (the same values; the
/// backward pass applies `f′` before the batch-norm gradient). In training mode with this batch's
/// own statistics it is one pass over the values instead of three: `y = f(γ x̂ + β)` is written
/// and `x̂` is not, and backward recomputes `x̂` and `f′(z)` from the input it keeps (one
/// reading of `∂L/∂y` and `x` per pass, no intermediate tensors); the other modes apply `f` and
/// `f′` around the usual passes.
///
/// State names, as PyTorch: parameters `weight` (γ) and `bias` (β), buffers `running_mean` and
/// `running_var` (checkpoints written before these names, with `runningMean` and
/// `runningVariance`, still load).
public final class BatchNorm<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool the channels are split over (nil: the calling thread). Every statistic and
    /// gradient sum lies within one channel, so the numbers are the same at every thread count.
    public var pool: ThreadPool?
    /// The fewest values (`N·H·W` per channel) a worker's chunk of channels holds, so small
    /// layers stay on the calling thread.
    public var minimumParallelElements = elementwiseGrain
    /// The number of channels `C`.
    public let channels: Int
    /// The running-statistics momentum `m` (0.1, PyTorch's default).
    public let momentum: Double
    /// `ε` added to the variance (1e-5).
    public let epsilon: Double
    /// The scale `γ`, `1 × C`, initialized to 1.
    public var gamma: Matrix<Scalar> { didSet { parameterVersion &+= 1 } }
    /// The shift `β`, `1 × C`, initialized to 0.
    public var beta: Matrix<Scalar> { didSet { parameterVersion &+= 1 } }
    /// `∂L/∂γ`.
    public var gammaGradient: Matrix<Scalar>
    /// `∂L/∂β`.
    public var betaGradient: Matrix<Scalar>
    /// The running mean `μ̄`, `1 × C`, initialized to 0.
    public var runningMean: Matrix<Scalar> { didSet { parameterVersion &+= 1 } }
    /// The running variance `σ̄²`, `1 × C`, initialized to 1.
    public var runningVariance: Matrix<Scalar> { didSet { parameterVersion &+= 1 } }
    /// A counter advanced by every change of `γ`, `β`, `μ̄` or `σ̄²` (assigned, in place
    /// through `visitParameters`/`visitBuffers`, or by a training-mode pass updating the running
    /// statistics): what a convolution with this batch norm folded into its weights
    /// (`InferencePlan`) checks before reusing them.
    public private(set) var parameterVersion: UInt64 = 0
    /// Whether training mode uses and keeps the running statistics (see the type's documentation).
    public var freezesStatistics = false
    /// Whether γ and β are frozen (no gradient is accumulated for them).
    public var isFrozen = false
    /// The other replicas of a data-parallel step, whose rows training mode's batch statistics
    /// include (nil: this layer's rows alone). See the type's documentation.
    public var synchronizer: (any BatchStatisticsSynchronizer)?
    /// The activation applied to the normalized output (nil: none); see the type's documentation.
    public let activation: ActivationFunction?

    private var mean: Matrix<Scalar>
    private var variance: Matrix<Scalar>
    private var inverseStd: Matrix<Scalar>
    private var normalized = Matrix<Scalar>.empty
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty
    private var usedBatchStatistics = true
    /// The values per channel the last forward pass normalized over (`M`; the whole batch's
    /// when synchronized).
    private var statisticsCount = 0
    /// The input of the last forward pass when it ran fused with the activation (the backward
    /// pass recomputes `x̂` from it), else empty.
    private var fusedInput = Matrix<Scalar>.empty
    /// Whether the last forward pass ran fused (`fusedInput` holds its input).
    private var ranFused = false
    private var maskedGradient = Matrix<Scalar>.empty
    private var localSumG: Matrix<Scalar>
    private var localSumGH: Matrix<Scalar>
    private var scratchGamma: Matrix<Scalar>
    private var scratchBeta: Matrix<Scalar>

    /// Batch normalization of `channels` channels with momentum `m` and `ε`, followed by
    /// `activation` (nil: none).
    public init(channels: Int, momentum: Double = 0.1, epsilon: Double = 1e-5, activation: ActivationFunction? = nil) {
        precondition(channels > 0, "BatchNorm needs a positive channel count")
        self.channels = channels
        self.activation = activation
        self.momentum = momentum
        self.epsilon = epsilon
        gamma = Matrix(rows: 1, columns: channels, repeating: 1)
        beta = Matrix(rows: 1, columns: channels)
        gammaGradient = Matrix(rows: 1, columns: channels)
        betaGradient = Matrix(rows: 1, columns: channels)
        runningMean = Matrix(rows: 1, columns: channels)
        runningVariance = Matrix(rows: 1, columns: channels, repeating: 1)
        mean = Matrix(rows: 1, columns: channels)
        variance = Matrix(rows: 1, columns: channels)
        inverseStd = Matrix(rows: 1, columns: channels)
        scratchGamma = Matrix(rows: 1, columns: channels)
        scratchBeta = Matrix(rows: 1, columns: channels)
        localSumG = Matrix(rows: 1, columns: channels)
        localSumGH = Matrix(rows: 1, columns: channels)
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        guard input.channels == channels else {
            throw NetworkShapeError(layer: "BatchNorm(\(channels))", reason: "expected \(channels) channels, got \(input)")
        }
        return input
    }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        precondition(x.shape.channels == channels, "BatchNorm expects \(channels) channels, got \(x.shape)")
        let n = x.batch, c = channels, p = x.shape.spatialCount
        let count = n * p, pool = pool
        usedBatchStatistics = training && !freezesStatistics
        ranFused = false
        fusedInput = .empty
        output.reshapeForReuse(rows: n, columns: x.shape.count)
        if usedBatchStatistics && synchronizer == nil && count > 0 {
            // Statistics and normalization in one parallel region: each worker's channels are
            // normalized right after their statistics (the same per-channel arithmetic).
            precondition(count > 1, "BatchNorm in training mode needs more than one value per channel")
            if activation != nil {
                fusedInput = x.values
                ranFused = true
            } else {
                normalized.reshapeForReuse(rows: n, columns: x.shape.count)
            }
            forwardWithLocalStatistics(x, batch: n, spatial: p)
            statisticsCount = count
            updateRunningStatistics(total: count)
            return Tensor(output, shape: x.shape)
        }
        normalized.reshapeForReuse(rows: n, columns: x.shape.count)
        if usedBatchStatistics {
            let grain = channelGrain(values: count)
            if count == 0 {
                for k in 0..<c { (mean[0, k], variance[0, k]) = (0, 0) }
            }
            withPointers(x.values, &mean) { xp, mp in
                variance.withUnsafeMutableBufferPointer { vp in
                    let meanOut = WorkerPointer(mp), varianceOut = WorkerPointer(vp.baseAddress!)
                    pool.parallelFor(count: c, minimumChunk: grain) { range in
                        Scalar.channelStatistics(xp, batch: n, channels: c, spatial: p, channelRange: range,
                                                 mean: meanOut.base, variance: varianceOut.base)
                    }
                }
            }
            let total = synchronizer.map { combineStatistics(localCount: count, over: $0) } ?? count
            precondition(total > 1, "BatchNorm in training mode needs more than one value per channel")
            statisticsCount = total
            updateRunningStatistics(total: total)
        } else {
            mean = runningMean
            variance = runningVariance
        }
        let eps = Scalar(epsilon)
        for k in 0..<c { inverseStd[0, k] = 1 / (variance[0, k] + eps).squareRoot() }
        mean.withUnsafeBufferPointer { mp in
            inverseStd.withUnsafeBufferPointer { rp in
                gamma.withUnsafeBufferPointer { gp in
                    beta.withUnsafeBufferPointer { bp in
                        normalized.withUnsafeMutableBufferPointer { hp in
                            withPointers(x.values, &output) { xp, yp in
                                let out = WorkerPointer(yp), hat = WorkerPointer(hp.baseAddress!)
                                pool.parallelFor(count: c, minimumChunk: channelGrain(values: n * p)) { range in
                                    Scalar.batchNormForward(xp, batch: n, channels: c, spatial: p, channelRange: range, mean: mp.baseAddress!,
                                                            inverseStd: rp.baseAddress!, gamma: gp.baseAddress!, beta: bp.baseAddress!,
                                                            normalized: hat.base, into: out.base)
                                }
                            }
                        }
                    }
                }
            }
        }
        if let activation { applyActivation(activation) }
        return Tensor(output, shape: x.shape)
    }

    public func backward(_ upstream: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(upstream.values.rows == output.rows && upstream.values.columns == output.columns, "BatchNorm.backward: gradient shape differs from the output")
        let n = upstream.batch, c = channels, p = upstream.shape.spatialCount, training = usedBatchStatistics
        inputGradient.reshapeForReuse(rows: n, columns: upstream.shape.count)
        if ranFused {
            backwardFused(upstream)
            return Tensor(inputGradient, shape: upstream.shape)
        }
        let g = activation.map { maskGradient(upstream, by: $0) } ?? upstream
        if training, let synchronizer {
            backwardSynchronized(g, over: synchronizer)
            return Tensor(inputGradient, shape: g.shape)
        }
        normalized.withUnsafeBufferPointer { hp in
            gamma.withUnsafeBufferPointer { gp in
                inverseStd.withUnsafeBufferPointer { rp in
                    forEachChannelRangeOfBackward(g) { gv, dx, dGamma, dBeta, range in
                        Scalar.batchNormBackward(gv, normalized: hp.baseAddress!, batch: n, channels: c, spatial: p,
                                                 channelRange: range, gamma: gp.baseAddress!, inverseStd: rp.baseAddress!,
                                                 training: training, into: dx, gammaGradient: dGamma, betaGradient: dBeta)
                    }
                }
            }
        }
        return Tensor(inputGradient, shape: g.shape)
    }

    /// `μ̄ ← (1 − m) μ̄ + m μ_c`, `σ̄² ← (1 − m) σ̄² + m σ²_c · M/(M − 1)` with `M = total`.
    private func updateRunningStatistics(total: Int) {
        let m = Scalar(momentum), unbias = Scalar(Double(total) / Double(total - 1))
        for k in 0..<channels {
            runningMean[0, k] = (1 - m) * runningMean[0, k] + m * mean[0, k]
            runningVariance[0, k] = (1 - m) * runningVariance[0, k] + m * variance[0, k] * unbias
        }
    }

    /// Training mode with this batch's statistics alone: for each worker's channels (split by
    /// channel, as the statistics are) `μ_c`, `σ²_c`, `r_c = 1/√(σ²_c + ε)`, then `x̂` and `y`
    /// (with an activation `y = f(γ x̂ + β)` only), in one parallel region. Every value is
    /// computed as by the separate passes.
    private func forwardWithLocalStatistics(_ x: Tensor<Scalar>, batch n: Int, spatial p: Int) {
        let c = channels, pool = pool, eps = Scalar(epsilon)
        let grain = channelGrain(values: n * p)
        withPointers(x.values, &output) { xp, yp in
            mean.withUnsafeMutableBufferPointer { mp in
                variance.withUnsafeMutableBufferPointer { vp in
                    inverseStd.withUnsafeMutableBufferPointer { rp in
                        gamma.withUnsafeBufferPointer { gp in
                            beta.withUnsafeBufferPointer { bp in
                                normalized.withUnsafeMutableBufferPointer { hp in
                                    // No x̂ with an activation (fused: `normalized` may be empty).
                                    let out = WorkerPointer(yp), hat = hp.baseAddress.map(WorkerPointer.init)
                                    let meanOut = WorkerPointer(mp.baseAddress!), varianceOut = WorkerPointer(vp.baseAddress!)
                                    let inverseOut = WorkerPointer(rp.baseAddress!)
                                    pool.parallelFor(count: c, minimumChunk: grain) { range in
                                        Scalar.channelStatistics(xp, batch: n, channels: c, spatial: p, channelRange: range,
                                                                 mean: meanOut.base, variance: varianceOut.base)
                                        for k in range { inverseOut.base[k] = 1 / (varianceOut.base[k] + eps).squareRoot() }
                                        if let activation {
                                            Scalar.batchNormActivatedForward(xp, batch: n, channels: c, spatial: p, channelRange: range,
                                                                             mean: meanOut.base, inverseStd: inverseOut.base,
                                                                             gamma: gp.baseAddress!, beta: bp.baseAddress!,
                                                                             function: activation, into: out.base)
                                        } else {
                                            Scalar.batchNormForward(xp, batch: n, channels: c, spatial: p, channelRange: range,
                                                                    mean: meanOut.base, inverseStd: inverseOut.base, gamma: gp.baseAddress!,
                                                                    beta: bp.baseAddress!, normalized: hat!.base, into: out.base)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Replaces this replica's `mean` and `variance` (over `localCount` values per channel) by those
    /// of the whole batch (`BatchStatisticsCombination`); returns the batch's count per channel.
    private func combineStatistics(localCount: Int, over synchronizer: any BatchStatisticsSynchronizer) -> Int {
        let c = channels, n = Double(localCount)
        var local = [Double](repeating: 0, count: BatchStatisticsCombination.contributionCount(channels: c))
        local[0] = n
        for k in 0..<c {
            local[1 + k] = Double(mean[0, k])
            local[1 + c + k] = Double(variance[0, k]) * n
        }
        let gathered = synchronizer.gather(local)
        var globalMean = [Double](repeating: 0, count: c), globalVariance = globalMean
        let total = BatchStatisticsCombination.combine(gathered, channels: c, mean: &globalMean, variance: &globalVariance)
        for k in 0..<c {
            mean[0, k] = Scalar(globalMean[k])
            variance[0, k] = Scalar(globalVariance[k])
        }
        return Int(total)
    }

    /// The backward pass with synchronized batch statistics: this replica's `Σ g` and `Σ g x̂` go
    /// into `∂L/∂β`, `∂L/∂γ` (unless frozen) and, summed over the replicas, into
    /// `∂L/∂x = γ_c r_c (g − Σg/M − x̂ Σ g x̂ / M)` with `M` the whole batch's count.
    private func backwardSynchronized(_ g: Tensor<Scalar>, over synchronizer: any BatchStatisticsSynchronizer) {
        let n = g.batch, c = channels, p = g.shape.spatialCount, pool = pool
        let grain = channelGrain(values: n * p)
        if n * p == 0 {
            for k in 0..<c { (localSumG[0, k], localSumGH[0, k]) = (0, 0) }
        }
        normalized.withUnsafeBufferPointer { hp in
            localSumGH.withUnsafeMutableBufferPointer { shp in
                withPointers(g.values, &localSumG) { gv, sgp in
                    let sumG = WorkerPointer(sgp), sumGH = WorkerPointer(shp.baseAddress!)
                    pool.parallelFor(count: c, minimumChunk: grain) { range in
                        Scalar.batchNormGradientSums(gv, normalized: hp.baseAddress!, batch: n, channels: c, spatial: p,
                                                     channelRange: range, sumG: sumG.base, sumGH: sumGH.base)
                    }
                }
            }
        }
        var sums = [Double](repeating: 0, count: 2 * c)
        for k in 0..<c {
            if !isFrozen {
                betaGradient[0, k] += localSumG[0, k]
                gammaGradient[0, k] += localSumGH[0, k]
            }
            sums[k] = Double(localSumG[0, k])
            sums[c + k] = Double(localSumGH[0, k])
        }
        synchronizer.sum(&sums)
        // The sums become the means over the whole batch.
        let total = Double(statisticsCount)
        for k in 0..<c {
            localSumG[0, k] = Scalar(sums[k] / total)
            localSumGH[0, k] = Scalar(sums[c + k] / total)
        }
        localSumG.withUnsafeBufferPointer { mgp in
            localSumGH.withUnsafeBufferPointer { mghp in
                gamma.withUnsafeBufferPointer { gp in
                    inverseStd.withUnsafeBufferPointer { rp in
                        normalized.withUnsafeBufferPointer { hp in
                            withPointers(g.values, &inputGradient) { gv, dx in
                                let out = WorkerPointer(dx)
                                pool.parallelFor(count: c, minimumChunk: grain) { range in
                                    Scalar.batchNormInputGradient(gv, normalized: hp.baseAddress!, batch: n, channels: c, spatial: p,
                                                                  channelRange: range, gamma: gp.baseAddress!,
                                                                  inverseStd: rp.baseAddress!, meanG: mgp.baseAddress!,
                                                                  meanGH: mghp.baseAddress!, into: out.base)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `y ← f(y)` in place on the output (the modes that do not fuse the activation).
    private func applyActivation(_ function: ActivationFunction) {
        let count = output.count, pool = pool
        output.withUnsafeMutableBufferPointer { y in
            let out = WorkerPointer(y.baseAddress!)
            pool.parallelFor(count: count, minimumChunk: elementwiseGrain) { r in
                switch function {
                case .relu: Scalar.reluForward(out.base + r.lowerBound, into: out.base + r.lowerBound, count: r.count)
                case .relu6: Scalar.relu6Forward(out.base + r.lowerBound, into: out.base + r.lowerBound, count: r.count)
                }
            }
        }
    }

    /// `g · f′` by the activated output (`[y > 0]`, ReLU6 `[0 < y < 6]`), as the activation
    /// layer's backward pass, for the modes that do not fuse the activation.
    private func maskGradient(_ g: Tensor<Scalar>, by function: ActivationFunction) -> Tensor<Scalar> {
        maskedGradient.reshapeForReuse(rows: output.rows, columns: output.columns)
        let count = output.count, pool = pool
        output.withUnsafeBufferPointer { y in
            withPointers(g.values, &maskedGradient) { gp, dx in
                let out = WorkerPointer(dx)
                pool.parallelFor(count: count, minimumChunk: elementwiseGrain) { r in
                    let o = r.lowerBound
                    switch function {
                    case .relu: Scalar.reluBackward(gp + o, output: y.baseAddress! + o, into: out.base + o, count: r.count)
                    case .relu6: Scalar.relu6Backward(gp + o, output: y.baseAddress! + o, into: out.base + o, count: r.count)
                    }
                }
            }
        }
        return Tensor(maskedGradient, shape: g.shape)
    }

    /// The backward pass after a fused training-mode pass (`batchNormActivatedBackward`, the
    /// channels split over the pool), then the kept input released.
    private func backwardFused(_ g: Tensor<Scalar>) {
        guard let activation else { preconditionFailure("BatchNorm: a fused pass without an activation") }
        precondition(fusedInput.count == g.values.count,
                     "BatchNorm.backward: one backward pass per fused training-mode forward pass (its input is released after it)")
        // Released afterwards, so the layer that produced the input owns its buffer again (and
        // writes its next output in place rather than into a copy).
        defer { fusedInput = .empty }
        let n = g.batch, c = channels, p = g.shape.spatialCount, training = usedBatchStatistics
        fusedInput.withUnsafeBufferPointer { xp in
            mean.withUnsafeBufferPointer { mp in
                inverseStd.withUnsafeBufferPointer { rp in
                    gamma.withUnsafeBufferPointer { gp in
                        beta.withUnsafeBufferPointer { bp in
                            forEachChannelRangeOfBackward(g) { gv, dx, dGamma, dBeta, range in
                                Scalar.batchNormActivatedBackward(
                                    gv, input: xp.baseAddress!, batch: n, channels: c, spatial: p, channelRange: range,
                                    mean: mp.baseAddress!, inverseStd: rp.baseAddress!, gamma: gp.baseAddress!,
                                    beta: bp.baseAddress!, function: activation, training: training, into: dx,
                                    gammaGradient: dGamma, betaGradient: dBeta)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The scaffolding of the unsynchronized backward passes: `kernel(g, ∂x, ∂γ, ∂β, channels)`
    /// for the channels split over the pool (`∂x` into `inputGradient`, the parameter sums added
    /// into `gammaGradient`/`betaGradient`). A frozen layer accumulates into scratch buffers
    /// (swapped in and out, no copy), leaving its gradients untouched.
    private func forEachChannelRangeOfBackward(
        _ g: Tensor<Scalar>,
        _ kernel: (_ g: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>, _ dGamma: UnsafeMutablePointer<Scalar>,
                   _ dBeta: UnsafeMutablePointer<Scalar>, _ channels: Range<Int>) -> Void
    ) {
        let frozen = isFrozen, pool = pool, grain = channelGrain(values: g.batch * g.shape.spatialCount)
        if frozen { swap(&gammaGradient, &scratchGamma); swap(&betaGradient, &scratchBeta) }
        defer { if frozen { swap(&gammaGradient, &scratchGamma); swap(&betaGradient, &scratchBeta) } }
        gammaGradient.withUnsafeMutableBufferPointer { dgp in
            betaGradient.withUnsafeMutableBufferPointer { dbp in
                withPointers(g.values, &inputGradient) { gv, dx in
                    let out = WorkerPointer(dx)
                    let dGamma = WorkerPointer(dgp.baseAddress!), dBeta = WorkerPointer(dbp.baseAddress!)
                    pool.parallelFor(count: channels, minimumChunk: grain) { range in
                        kernel(gv, out.base, dGamma.base, dBeta.base, range)
                    }
                }
            }
        }
    }

    /// Channels per chunk so that a chunk holds at least `elementwiseGrain` values (a channel
    /// holds `values`).
    private func channelGrain(values: Int) -> Int { Swift.max(1, minimumParallelElements / Swift.max(1, values)) }

    public func visitParameters(_ visit: (String, inout Matrix<Scalar>, inout Matrix<Scalar>) -> Void) {
        visit("weight", &gamma, &gammaGradient)
        visit("bias", &beta, &betaGradient)
    }

    public func visitBuffers(_ visit: (String, inout Matrix<Scalar>) -> Void) {
        visit("running_mean", &runningMean)
        visit("running_var", &runningVariance)
    }
}
