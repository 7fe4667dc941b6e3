import DMLNumerics

/// A 2-D convolution (cross-correlation, as PyTorch's `Conv2d`) with `g` groups, a `kh × kw`
/// kernel, stride `sh × sw` and zero padding per side:
/// `y[n, o, oh, ow] = b_o + Σ_{c<C/g, i<kh, j<kw} W[o, c, i, j] · x[n, ⌊o/(O/g)⌋·C/g + c, oh·sh − top + i, ow·sw − left + j]`
/// (0 outside the image). `g = 1` is a dense convolution, `g = C` a depthwise one.
///
/// The weights are stored as an `O × (C/g·kh·kw)` matrix, PyTorch's logical `O × C/g × kh × kw`
/// in row-major order (`visitLogicalShapes` reports the 4-D shape). Kernels, by case:
/// - **depthwise** (`g = C > 1`, `O = M·C`): a direct loop per output plane, no im2col, no GEMM;
/// - **pointwise** (1×1, stride 1, no padding): per sample and group one GEMM on the input
///   itself, `y_n = W · x_n` (the patch matrix of a sample *is* the sample), or batched (below);
/// - **Winograd F(2×2, 3×3)** (`g = 1`, 3×3, stride 1; `algorithm = .winograd`, or `.automatic`
///   where `winogradPays`): `WinogradConvolution`, 16 GEMMs per block of output tiles;
/// - otherwise **im2col + GEMM**, per sample and group, or batched.
/// *Batched* (`g = 1`; `algorithm = .batched`, or `.automatic` — the default — when the plane
/// is small against the weights, `P·(K + O) ≤ K·O` with `K = C·kh·kw`): the samples of a chunk
/// (all of them with one thread) as one channel-major patch matrix `[cols_1 … cols_m]`
/// (`K × m·P`; for 1×1 a copy of the input) and one GEMM `O × K · K × m·P`, then back to NCHW.
/// Backward: `∂W += ∂Y · colsᵀ`, `∂cols = Wᵀ · ∂Y`, col2im (likewise per group); the bias
/// gradient is the sum of `∂Y` over each output plane. Frozen (`isFrozen`): no weight or bias
/// gradient is computed.
public final class Conv2D<Scalar: NetworkScalar>: Layer, PoolParallelLayer {
    /// The pool the samples are split over (nil: the calling thread), in chunks claimed by
    /// whichever thread is free (`ThreadPool.parallelForBalanced`). Each thread has its own
    /// patch buffer, each chunk its own weight-gradient accumulator; the accumulators are added
    /// in chunk order, so a given thread count gives the same numbers run after run (and
    /// different thread counts the same up to rounding).
    public var pool: ThreadPool?
    /// Input channels `C`.
    public let inputChannels: Int
    /// Output channels `O`.
    public let outputChannels: Int
    /// The kernel `kh × kw`.
    public let kernel: Size2D
    /// The stride `sh × sw`.
    public let strides: Size2D
    /// Zero padding per side.
    public let padding: Padding2D
    /// The number of groups `g` (divides `C` and `O`).
    public let groups: Int
    /// The weights, `O × (C/g·kh·kw)`. Every change (assigned, or in place through
    /// `visitParameters`, an optimizer, `loadWeights`) advances `parameterVersion`.
    public var weight: Matrix<Scalar> { didSet { parameterVersion &+= 1 } }
    /// `∂L/∂W`.
    public var weightGradient: Matrix<Scalar>
    /// The bias as a `1 × O` matrix, or nil (changes advance `parameterVersion`).
    public var bias: Matrix<Scalar>? { didSet { parameterVersion &+= 1 } }
    /// A counter advanced by every change of `weight` or `bias`: what the evaluation-mode caches
    /// derived from the weights (the folded weights of an `InferencePlan` step, the Winograd
    /// transform `U`) are keyed by, instead of comparing the weights themselves.
    public private(set) var parameterVersion: UInt64 = 0
    /// `∂L/∂b`.
    public var biasGradient: Matrix<Scalar>?
    /// Instrumentation: when set, every GEMM of this layer runs through it (see `GEMMObserver`).
    public var gemmObserver: (any GEMMObserver)?
    /// Whether `backward` computes `∂L/∂x`. The first layer of a network, whose input is data,
    /// can switch it off to save a GEMM and col2im; `backward` then returns zeros for `∂L/∂x`.
    public var computesInputGradient = true
    /// Whether the parameters are frozen (no gradient is computed for them).
    public var isFrozen = false
    /// How a dense convolution is mapped onto GEMM (see `ConvolutionAlgorithm`).
    public var algorithm = ConvolutionAlgorithm.automatic
    /// Winograd only: the target number of 2×2 output tiles transformed and multiplied together
    /// (whole samples, or tile rows of one sample when a sample has more; see
    /// `WinogradConvolution`); nil (the default): as many as keep a block's transformed input and
    /// products within about 1 MiB, 128–512 tiles.
    public var winogradBlockTiles: Int?

    /// The Winograd tiles per block a layer of `channels → outputs` uses when
    /// `winogradBlockTiles` is nil (`WinogradConvolution.automaticBlockTiles`).
    public static func automaticWinogradBlockTiles(channels: Int, outputs: Int) -> Int {
        WinogradConvolution<Scalar>.automaticBlockTiles(channels: channels, outputs: outputs)
    }
    /// Whether depthwise and pointwise convolutions use their own kernels (the default); when
    /// false they run through im2col + GEMM per group like any other (for benchmarks and tests).
    public var usesSpecializedKernels = true
    /// Whether `.automatic` batches an ungrouped convolution with patch length `K = C·kh·kw`,
    /// `O` outputs and `P = OH·OW` output pixels: when `P·(K + O) ≤ K·O`. Per sample, BLAS
    /// handles the whole `O × K` weight once per sample (packs `W`; in backward reads and writes
    /// `∂W` for `∂W += ∂y_n colsᵀ`, whose inner dimension is only `P`): work proportional to
    /// `K·O`; batched, once per chunk, at the price of copying `(K + O)·P` values per sample
    /// each way. See docs/networks.md for the measurements.
    public static func batchingPays(patchLength k: Int, outputs o: Int, outputPixels p: Int) -> Bool {
        Double(p) * Double(k + o) <= Double(k) * Double(o)
    }

    private var geometry: ConvolutionGeometry?
    private var inputShape = TensorShape.vector(0)
    private var batch = 0
    private var columns = Matrix<Scalar>.empty
    private var channelMajor = Matrix<Scalar>.empty
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty
    private var input = Matrix<Scalar>.empty
    private var usedKernel = Kernel.perSample
    private var patchScratch = WorkerScratch<Scalar>(workers: 1)
    private var gradientScratch = WorkerScratch<Scalar>(workers: 1)
    private var inputGradientIsZero = false

    private var winograd: WinogradConvolution<Scalar>?
    /// The weights and bias with a batch norm folded in (`forwardInference`), kept while neither
    /// layer changes.
    private var folded: FoldedParameters?
    /// Advanced whenever `folded` is recomputed: the Winograd cache's key for folded weights.
    private var foldGeneration: UInt64 = 0
    /// The kernel the last forward pass ran (for profiles), nil before the first.
    public private(set) var lastKernel: ConvolutionKernel?

    private typealias Kernel = ConvolutionKernel

    /// The weights a forward pass multiplies by and what its output pass adds and applies.
    private struct ForwardParameters {
        /// `O × (C/g·kh·kw)`.
        let weight: Matrix<Scalar>
        /// `1 × O`, or nil.
        let bias: Matrix<Scalar>?
        /// What identifies `weight` for the Winograd cache (nil: recompute `U`, training mode).
        let stamp: ConvolutionWeightStamp?
        /// Per sample, `y_n ← f(y_n + a_n)` after the sample's output is written.
        let epilogue: ConvolutionEpilogue<Scalar>
        /// Whether a kernel that would fill its output with the bias for the GEMM to add to
        /// (per sample) adds it in the output pass instead (evaluation-mode fused passes).
        var biasInOutputPass = false
    }

    /// `weight` and `bias` with `normalization`'s evaluation-mode affine map folded in.
    private struct FoldedParameters {
        let weight: Matrix<Scalar>
        let bias: Matrix<Scalar>
        let normalization: BatchNorm<Scalar>
        let convolutionVersion: UInt64
        let normalizationVersion: UInt64
        let generation: UInt64
    }

    /// The kernel height (`kernel.height`; the kernel is square unless built with `kernel:`).
    public var kernelSize: Int { kernel.height }
    /// The vertical stride (`strides.height`).
    public var stride: Int { strides.height }
    /// Input channels per group, `C/g`.
    public var inputChannelsPerGroup: Int { inputChannels / groups }
    /// Whether this is a depthwise convolution (`g = C > 1`), run by the direct kernel.
    public var isDepthwise: Bool { groups > 1 && groups == inputChannels }

    /// A `C → O` convolution with a square `k × k` kernel, stride `s` and padding `p` on every side.
    public convenience init(_ inputChannels: Int, _ outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            groups: Int = 1, bias: Bool = true, initialization: Initialization = .heNormal,
                            generator: inout SeededGenerator) {
        self.init(inputChannels, outputChannels, kernel: Size2D(kernelSize), stride: Size2D(stride), padding: Padding2D(padding),
                  groups: groups, bias: bias, initialization: initialization, generator: &generator)
    }

    /// A `C → O` convolution; weights from `initialization` with fanIn = `C/g·kh·kw`,
    /// fanOut = `O·kh·kw` (PyTorch's fans); zero bias when `bias` is true.
    public init(_ inputChannels: Int, _ outputChannels: Int, kernel: Size2D, stride: Size2D = 1, padding: Padding2D = .zero,
                groups: Int = 1, bias: Bool = true, initialization: Initialization = .heNormal, generator: inout SeededGenerator) {
        precondition(inputChannels > 0 && outputChannels > 0 && kernel.height > 0 && kernel.width > 0
                     && stride.height > 0 && stride.width > 0 && padding.isNonNegative,
                     "Conv2D needs positive channels, kernel and stride and a non-negative padding")
        precondition(groups > 0 && inputChannels % groups == 0 && outputChannels % groups == 0,
                     "Conv2D: groups (\(groups)) must divide the input (\(inputChannels)) and output (\(outputChannels)) channels")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernel = kernel
        strides = stride
        self.padding = padding
        self.groups = groups
        let area = kernel.height * kernel.width
        let patch = inputChannels / groups * area
        weight = initialization.weights(rows: outputChannels, columns: patch, fanIn: patch,
                                        fanOut: outputChannels * area, generator: &generator)
        weightGradient = Matrix(rows: outputChannels, columns: patch)
        self.bias = bias ? Matrix(rows: 1, columns: outputChannels) : nil
        biasGradient = bias ? Matrix(rows: 1, columns: outputChannels) : nil
    }

    private var name: String {
        let k = kernel.height == kernel.width ? "\(kernel.height)" : "\(kernel)"
        let s = strides.height == strides.width ? "\(strides.height)" : "\(strides)"
        return "Conv2D(\(inputChannels)→\(outputChannels), k=\(k), s=\(s), p=\(padding)\(groups > 1 ? ", g=\(groups)" : ""))"
    }

    /// The geometry of one group (for the depthwise kernel: all `C` planes, each its own group).
    private func geometry(for input: TensorShape) -> ConvolutionGeometry {
        ConvolutionGeometry(channels: isDepthwise && usesSpecializedKernels ? inputChannels : inputChannels / groups,
                            height: input.height, width: input.width, kernel: kernel, stride: strides, padding: padding)
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        guard input.channels == inputChannels else {
            throw NetworkShapeError(layer: name, reason: "expected \(inputChannels) input channels, got \(input)")
        }
        let g = geometry(for: input)
        guard g.isValid else {
            throw NetworkShapeError(layer: name, reason: "input \(input) is smaller than the kernel")
        }
        return TensorShape(channels: outputChannels, height: g.outputHeight, width: g.outputWidth)
    }

    public func visitLogicalShapes(_ visit: (String, [Int]) -> Void) {
        visit("weight", [outputChannels, inputChannels / groups, kernel.height, kernel.width])
        if bias != nil { visit("bias", [outputChannels]) }
    }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        precondition(x.shape.channels == inputChannels, "\(name) expects \(inputChannels) channels, got \(x.shape)")
        let g = geometry(for: x.shape)
        precondition(g.isValid, "\(name): input \(x.shape) is smaller than the kernel")
        let parameters = ForwardParameters(weight: weight, bias: bias, stamp: training ? nil : .raw(parameterVersion),
                                           epilogue: ConvolutionEpilogue())
        return run(x, geometry: g, parameters: parameters)
    }

    /// The evaluation-mode forward pass of this convolution followed by `normalization` (its
    /// running statistics: `y = γ (x − μ̄)/√(σ̄² + ε) + β`), then `+ addend`, then `activation`,
    /// as one pass: the batch norm is folded into the weights, `W'_o = s_o W_o`, `b'_o = β_o +
    /// (b_o − μ̄_o) s_o` with `s_o = γ_o/√(σ̄²_o + ε)` (kept while neither layer's
    /// `parameterVersion` changes), and the sum and the activation are applied to each sample's
    /// output right after it is written. Nothing is cached for a backward pass: a container that
    /// ran this replays its layers unfused before going backward (`InferencePlan`).
    func forwardInference(_ x: Tensor<Scalar>, normalization: BatchNorm<Scalar>?, addend: Tensor<Scalar>?,
                          activation: ActivationFunction?) -> Tensor<Scalar> {
        precondition(x.shape.channels == inputChannels, "\(name) expects \(inputChannels) channels, got \(x.shape)")
        let g = geometry(for: x.shape)
        precondition(g.isValid, "\(name): input \(x.shape) is smaller than the kernel")
        let w: Matrix<Scalar>, b: Matrix<Scalar>?, stamp: ConvolutionWeightStamp
        if let normalization {
            precondition(normalization.channels == outputChannels, "\(name): a batch norm of \(normalization.channels) channels cannot follow it")
            let f = foldedParameters(normalization)
            (w, b, stamp) = (f.weight, f.bias, .folded(f.generation))
        } else {
            (w, b, stamp) = (weight, bias, .raw(parameterVersion))
        }
        if let addend {
            precondition(addend.batch == x.batch && addend.shape.count == outputChannels * g.outputSpatial,
                         "\(name): the residual addend \(addend.shape) differs from the output")
        }
        func parameters(addend: UnsafePointer<Scalar>?) -> ForwardParameters {
            ForwardParameters(weight: w, bias: b, stamp: stamp, epilogue: ConvolutionEpilogue(addend: addend, activation: activation),
                              biasInOutputPass: true)
        }
        let result = addend.map { a in
            a.values.withUnsafeBufferPointer { run(x, geometry: g, parameters: parameters(addend: $0.baseAddress)) }
        } ?? run(x, geometry: g, parameters: parameters(addend: nil))
        input = .empty   // no backward follows a fused pass; keep no reference to the input
        return result
    }

    /// `weight` and `bias` with `normalization` folded in, recomputed when either layer changed
    /// (`parameterVersion`) or the batch norm is another one: per output channel, in `Scalar` as
    /// `BatchNorm` computes it, `s_o = γ_o · 1/√(σ̄²_o + ε)`, `W'_o = s_o W_o`,
    /// `b'_o = β_o + (b_o − μ̄_o) s_o` (`b_o = 0` without a bias).
    private func foldedParameters(_ normalization: BatchNorm<Scalar>) -> FoldedParameters {
        if let folded, folded.normalization === normalization, folded.convolutionVersion == parameterVersion,
           folded.normalizationVersion == normalization.parameterVersion {
            return folded
        }
        let o = outputChannels, k = weight.columns
        let eps = Scalar(normalization.epsilon)
        var w = Matrix<Scalar>.zeros(rows: o, columns: k), b = Matrix<Scalar>.zeros(rows: 1, columns: o)
        weight.withUnsafeBufferPointer { source in
            w.withUnsafeMutableBufferPointer { target in
                for c in 0..<o {
                    let scale = normalization.gamma[0, c] * (1 / (normalization.runningVariance[0, c] + eps).squareRoot())
                    let row = source.baseAddress! + c * k, out = target.baseAddress! + c * k
                    for j in 0..<k { out[j] = row[j] * scale }
                    b[0, c] = normalization.beta[0, c] + ((bias?[0, c] ?? 0) - normalization.runningMean[0, c]) * scale
                }
            }
        }
        foldGeneration &+= 1
        let result = FoldedParameters(weight: w, bias: b, normalization: normalization, convolutionVersion: parameterVersion,
                                      normalizationVersion: normalization.parameterVersion, generation: foldGeneration)
        folded = result
        return result
    }

    /// Chooses the kernel for `g` (see the type's description) and runs it with `parameters`.
    private func run(_ x: Tensor<Scalar>, geometry g: ConvolutionGeometry, parameters: ForwardParameters) -> Tensor<Scalar> {
        geometry = g
        inputShape = x.shape
        batch = x.batch
        if isDepthwise && usesSpecializedKernels {
            usedKernel = .depthwise
        } else if groups == 1 && WinogradTiling.applies(to: g)
                    && (algorithm == .winograd || (algorithm == .automatic && Self.winogradPays(WinogradTiling(g), outputs: outputChannels))) {
            usedKernel = .winograd
        } else {
            let batches = groups == 1 && (algorithm == .batched || ((algorithm == .automatic || algorithm == .winograd || algorithm == .im2col)
                && Self.batchingPays(patchLength: g.patchLength, outputs: outputChannels, outputPixels: g.outputSpatial)))
            if g.isPointwise && usesSpecializedKernels {
                usedKernel = batches ? .pointwiseBatched : .pointwise
            } else {
                usedKernel = batches ? .batched : .perSample
            }
        }
        lastKernel = usedKernel
        output.reshapeForReuse(rows: x.batch, columns: outputChannels * g.outputSpatial)
        let shape = TensorShape(channels: outputChannels, height: g.outputHeight, width: g.outputWidth)
        switch usedKernel {
        case .depthwise: forwardDepthwise(x, geometry: g, parameters: parameters)
        case .pointwise, .perSample: forwardPerSample(x, geometry: g, pointwise: usedKernel == .pointwise, parameters: parameters)
        case .pointwiseBatched, .batched: forwardBatched(x, geometry: g, pointwise: usedKernel == .pointwiseBatched, parameters: parameters)
        case .winograd: forwardWinograd(x, geometry: g, parameters: parameters)
        }
        return Tensor(output, shape: shape)
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        guard let g = geometry else { preconditionFailure("Conv2D.backward before forward") }
        let n = batch, p = g.outputSpatial, o = outputChannels
        precondition(gradient.batch == n && gradient.shape.count == o * p, "\(name).backward: gradient shape differs from the output")
        let inputCount = inputShape.count
        if computesInputGradient {
            inputGradient.reshapeForReuse(rows: n, columns: inputCount)
            inputGradientIsZero = false
        } else if inputGradient.rows != n || inputGradient.columns != inputCount {
            inputGradient = .zeros(rows: n, columns: inputCount)
            inputGradientIsZero = true
        } else if !inputGradientIsZero {
            // The buffer holds an earlier input gradient: the contract is zeros.
            let count = inputGradient.count
            inputGradient.withUnsafeMutableBufferPointer { if count > 0 { Scalar.fill($0.baseAddress!, count: count, value: 0) } }
            inputGradientIsZero = true
        }
        if biasGradient != nil && !isFrozen { accumulateBiasGradient(gradient, planeSize: p) }
        switch usedKernel {
        case .depthwise: backwardDepthwise(gradient, geometry: g)
        case .pointwise, .perSample: backwardPerSample(gradient, geometry: g, pointwise: usedKernel == .pointwise)
        case .pointwiseBatched, .batched: backwardBatched(gradient, geometry: g, pointwise: usedKernel == .pointwiseBatched)
        case .winograd: backwardWinograd(gradient, geometry: g)
        }
        input = .empty
        return Tensor(inputGradient, shape: inputShape)
    }

    // MARK: the pool

    /// How a pass over `n` samples is cut into chunks (`ThreadPool.balancedSplit`: a head chunk
    /// per thread and `tailChunksPerThread` small tail chunks per thread claimed by whichever
    /// thread is free); one chunk without a pool.
    private func sampleSplit(_ n: Int, tailChunksPerThread: Int = 4) -> BalancedSplit {
        BalancedSplit(count: n, threads: pool?.threadCount ?? 1, tailChunksPerThread: tailChunksPerThread)
    }

    /// Runs `body(samples, chunk, slot)` over the chunks of `sampleSplit(n, …)` on the pool's
    /// threads (OpenBLAS single-threaded meanwhile), or on the calling thread. `slot` names the
    /// thread (its scratch); what a chunk computes depends only on `samples` and `chunk`.
    private func forEachSampleChunk(_ n: Int, tailChunksPerThread: Int = 4,
                                    _ body: (_ samples: Range<Int>, _ chunk: Int, _ slot: Int) -> Void) {
        guard n > 0 else { return }
        if let pool, sampleSplit(n, tailChunksPerThread: tailChunksPerThread).chunks > 1 {
            BLASThreads.with(1) { pool.parallelForBalanced(count: n, tailChunksPerThread: tailChunksPerThread, body) }
        } else {
            body(0..<n, 0, 0)
        }
    }

    /// Patch buffers of `count` elements for `slots` threads, allocated here on the calling
    /// thread (the workers only read their pointer).
    private func patchBuffers(slots: Int, count: Int) -> [SendablePointer<Scalar>] {
        if patchScratch.workers < slots { patchScratch = WorkerScratch(workers: slots) }
        return (0..<slots).map { SendablePointer(patchScratch.buffer($0, count: count)) }
    }

    /// Where each chunk of a backward pass accumulates its weight gradient: chunk 0 into
    /// `weightGradient` itself (so one chunk is exactly the serial computation), chunk `k ≥ 1`
    /// into its own `O × (C/g·kh·kw)` buffer, which that chunk zeroes when it starts (in
    /// parallel, into its thread's cache; `backwardOverSampleChunks`), added by
    /// `addWeightGradientPartials` in chunk order.
    private func weightGradientTargets(chunks: Int, base: UnsafeMutablePointer<Scalar>) -> [SendablePointer<Scalar>] {
        if gradientScratch.workers < chunks { gradientScratch = WorkerScratch(workers: chunks) }
        let count = weight.count
        return (0..<chunks).map { k in
            k == 0 ? SendablePointer(base) : SendablePointer(gradientScratch.buffer(k, count: count))
        }
    }

    /// `∂W += Σ_{k=1}^{K−1} partial_k`, in chunk order (each element's sum in that order, the
    /// elements split over the pool), so a given thread count gives the same numbers every run.
    private func addWeightGradientPartials(_ targets: [SendablePointer<Scalar>]) {
        guard targets.count > 1 else { return }
        let count = weight.count, destination = targets[0]
        let body: (Range<Int>) -> Void = { range in
            let d = destination.pointer + range.lowerBound
            for source in targets.dropFirst() {
                Scalar.accumulate(source.pointer + range.lowerBound, into: d, count: range.count)
            }
        }
        pool.parallelFor(count: count, minimumChunk: 1 << 14, body)
    }

    /// What one chunk of a backward pass over samples reads and writes.
    private struct BackwardBuffers {
        /// The weights `W`.
        let weight: UnsafePointer<Scalar>
        /// The input cached by the forward pass.
        let input: UnsafePointer<Scalar>
        /// `∂L/∂Y`.
        let outputGradient: UnsafePointer<Scalar>
        /// This chunk's weight-gradient accumulator, nil when the layer is frozen.
        let weightGradient: UnsafeMutablePointer<Scalar>?
        /// `∂L/∂x` (all samples), nil when `computesInputGradient` is off.
        let inputGradient: UnsafeMutablePointer<Scalar>?
        /// This thread's patch buffer, nil when none was asked for.
        let patches: UnsafeMutablePointer<Scalar>?
    }

    /// The scaffolding the depthwise and per-sample backward passes share: nothing when neither
    /// gradient is wanted; otherwise `body(samples, slot, buffers)` over the samples split into
    /// chunks claimed by the pool's threads (`forEachSampleChunk`), each chunk with its own
    /// weight-gradient accumulator (`weightGradientTargets`; fewer tail chunks when the
    /// weights are large, `partialTailChunksPerThread`) and, when `patchCount > 0`, each thread
    /// with its own patch buffer of that many elements; the accumulators are then added in
    /// chunk order (`addWeightGradientPartials`).
    private func backwardOverSampleChunks(_ gradient: Tensor<Scalar>, patchCount: Int = 0,
                                          _ body: (_ samples: Range<Int>, _ slot: Int, _ buffers: BackwardBuffers) -> Void) {
        let n = batch
        let needsInput = computesInputGradient, needsWeight = !isFrozen
        guard needsInput || needsWeight, n > 0 else { return }
        let tail = needsWeight ? partialTailChunksPerThread(partialCount: weight.count, threads: pool?.threadCount ?? 1) : 4
        let split = sampleSplit(n, tailChunksPerThread: tail)
        let patches = patchCount > 0 ? patchBuffers(slots: split.headChunks, count: patchCount) : []
        let cached = input
        weight.withUnsafeBufferPointer { w in
            weightGradient.withUnsafeMutableBufferPointer { dw in
                let targets = needsWeight ? weightGradientTargets(chunks: split.chunks, base: dw.baseAddress!) : []
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    let dxBase = needsInput ? dx.baseAddress.map(WorkerPointer.init) : nil
                    cached.withUnsafeBufferPointer { xp in
                        gradient.values.withUnsafeBufferPointer { gp in
                            let weightCount = weight.count
                            forEachSampleChunk(n, tailChunksPerThread: tail) { samples, chunk, slot in
                                if needsWeight && chunk > 0 { Scalar.fill(targets[chunk].pointer, count: weightCount, value: 0) }
                                body(samples, slot, BackwardBuffers(
                                    weight: w.baseAddress!, input: xp.baseAddress!, outputGradient: gp.baseAddress!,
                                    weightGradient: needsWeight ? targets[chunk].pointer : nil, inputGradient: dxBase?.base,
                                    patches: patches.isEmpty ? nil : patches[slot].pointer))
                            }
                        }
                    }
                }
                if needsWeight { addWeightGradientPartials(targets) }
            }
        }
    }

    /// `∂b_c += Σ_n Σ_q ∂Y[n, c, q]`, the channels split over the pool (each channel summed in
    /// sample order, so the result is the same at every thread count).
    private func accumulateBiasGradient(_ gradient: Tensor<Scalar>, planeSize p: Int) {
        let n = batch, o = outputChannels
        let grain = Swift.max(1, elementwiseGrain / Swift.max(1, n * p))
        let pool = pool
        withPointers(gradient.values, &biasGradient!) { gp, s in
            let out = WorkerPointer(s)
            pool.parallelFor(count: o, minimumChunk: grain) { channels in
                for sample in 0..<n {
                    for c in channels { out.base[c] += Scalar.channelRowSum(gp + (sample * o + c) * p, count: p) }
                }
            }
        }
    }

    // MARK: depthwise

    /// The samples split over the pool, each sample's planes by the direct kernel.
    private func forwardDepthwise(_ x: Tensor<Scalar>, geometry g: ConvolutionGeometry, parameters: ForwardParameters) {
        input = x.values
        let n = x.batch, inputCount = x.shape.count, outputCount = outputChannels * g.outputSpatial
        let multiplier = outputChannels / inputChannels
        let biasValues = parameters.bias ?? .empty, hasBias = parameters.bias != nil
        let epilogue = parameters.epilogue
        parameters.weight.withUnsafeBufferPointer { w in
            biasValues.withUnsafeBufferPointer { b in
                withPointers(x.values, &output) { xp, yp in
                    let out = WorkerPointer(yp)
                    forEachSampleChunk(n) { samples, _, _ in
                        for sample in samples {
                            Scalar.depthwiseForward(xp + sample * inputCount, weight: w.baseAddress!, bias: hasBias ? b.baseAddress! : nil,
                                                    geometry: g, multiplier: multiplier, into: out.base + sample * outputCount)
                            epilogue.apply(out.base, samples: sample..<sample + 1, channels: outputChannels, plane: g.outputSpatial)
                        }
                    }
                }
            }
        }
    }

    /// The samples split over the pool, each chunk accumulating its own weight gradient
    /// (`backwardOverSampleChunks`).
    private func backwardDepthwise(_ gradient: Tensor<Scalar>, geometry g: ConvolutionGeometry) {
        let inputCount = inputShape.count, outputCount = outputChannels * g.outputSpatial
        let multiplier = outputChannels / inputChannels
        backwardOverSampleChunks(gradient) { samples, _, buffers in
            for sample in samples {
                Scalar.depthwiseBackward(buffers.outputGradient + sample * outputCount, input: buffers.input + sample * inputCount,
                                         weight: buffers.weight, geometry: g, multiplier: multiplier,
                                         weightGradient: buffers.weightGradient,
                                         inputGradient: buffers.inputGradient.map { $0 + sample * inputCount })
            }
        }
    }

    // MARK: per sample (im2col or pointwise), per group

    /// Per sample `n` and group: patches `cols` (`C/g·kh·kw × P`, small enough to stay in cache;
    /// for a pointwise convolution the input plane block itself), then
    /// `y_n[group rows] = W_group · cols + b` written straight into the NCHW output row. The
    /// samples are split over the pool, each thread with its own patch buffer.
    private func forwardPerSample(_ x: Tensor<Scalar>, geometry g: ConvolutionGeometry, pointwise: Bool, parameters: ForwardParameters) {
        let n = x.batch, p = g.outputSpatial, o = outputChannels, k = g.patchLength
        let og = o / groups, groupCount = groups, groupInput = g.channels * g.inputSpatial
        let inputCount = x.shape.count
        input = x.values
        let patches = pointwise ? [] : patchBuffers(slots: sampleSplit(n).headChunks, count: k * p)
        // A fused pass adds the bias in its output pass (one sweep fewer than filling the output
        // with it for the GEMM to add to); the plain pass as before.
        let biasInEpilogue = parameters.biasInOutputPass && parameters.bias != nil
        let hasBias = parameters.bias != nil && !biasInEpilogue
        let biasValues = parameters.bias ?? .empty
        let observer = gemmObserver
        parameters.weight.withUnsafeBufferPointer { w in
            biasValues.withUnsafeBufferPointer { b in
                var epilogue = parameters.epilogue
                if biasInEpilogue { epilogue.bias = b.baseAddress }
                withPointers(x.values, &output) { xp, yp in
                    let out = WorkerPointer(yp)
                    forEachSampleChunk(n) { samples, _, slot in
                        for sample in samples {
                            let y = out.base + sample * o * p
                            if hasBias {
                                for c in 0..<o { Scalar.fill(y + c * p, count: p, value: b[c]) }
                            }
                            for group in 0..<groupCount {
                                let source = xp + sample * inputCount + group * groupInput
                                let cols: UnsafePointer<Scalar>
                                if pointwise {
                                    cols = source
                                } else {
                                    Scalar.im2col(source, geometry: g, batch: 1, into: patches[slot].pointer)
                                    cols = UnsafePointer(patches[slot].pointer)
                                }
                                let product = {
                                    Scalar.gemm(.none, .none, m: og, n: p, k: k, alpha: 1, a: w.baseAddress! + group * og * k, lda: k,
                                                b: cols, ldb: p, beta: hasBias ? 1 : 0, c: y + group * og * p, ldc: p)
                                }
                                // The observer sees the calling thread's share only (see `GEMMObserver`).
                                if slot == 0 { observer.observe(product) } else { product() }
                            }
                            epilogue.apply(out.base, samples: sample..<sample + 1, channels: o, plane: p)
                        }
                    }
                }
            }
        }
    }

    /// Per sample and group: the patches are recomputed (cheaper than keeping `N` of them), then
    /// `∂W_group += g_n · colsᵀ`, `∂cols = W_groupᵀ g_n` and col2im into `∂x_n` (pointwise: the
    /// products read and write the input and its gradient directly). The samples are split over
    /// the pool, each thread with its own patch buffer and each chunk with its own
    /// weight-gradient accumulator (`weightGradientTargets`), summed in chunk order afterwards.
    private func backwardPerSample(_ gradient: Tensor<Scalar>, geometry g: ConvolutionGeometry, pointwise: Bool) {
        let p = g.outputSpatial, o = outputChannels, k = g.patchLength
        let og = o / groups, groupCount = groups, groupInput = g.channels * g.inputSpatial
        let inputCount = inputShape.count
        let observer = gemmObserver
        backwardOverSampleChunks(gradient, patchCount: pointwise ? 0 : k * p) { samples, slot, buffers in
            let col = buffers.patches
            for sample in samples {
                let gs = buffers.outputGradient + sample * o * p
                for group in 0..<groupCount {
                    let source = buffers.input + sample * inputCount + group * groupInput
                    let target = buffers.inputGradient.map { $0 + sample * inputCount + group * groupInput }
                    let gGroup = gs + group * og * p, wGroup = buffers.weight + group * og * k
                    let cols: UnsafePointer<Scalar>
                    if pointwise {
                        cols = source
                    } else {
                        if buffers.weightGradient != nil { Scalar.im2col(source, geometry: g, batch: 1, into: col!) }
                        cols = UnsafePointer(col!)
                    }
                    let products = {
                        if let dw = buffers.weightGradient {
                            Scalar.gemm(.none, .transpose, m: og, n: k, k: p, alpha: 1, a: gGroup, lda: p,
                                        b: cols, ldb: p, beta: 1, c: dw + group * og * k, ldc: k)
                        }
                        if let target {
                            Scalar.gemm(.transpose, .none, m: k, n: p, k: og, alpha: 1, a: wGroup, lda: k,
                                        b: gGroup, ldb: p, beta: 0, c: pointwise ? target : col!, ldc: p)
                        }
                    }
                    if slot == 0 { observer.observe(products) } else { products() }
                    if let target, !pointwise {
                        Scalar.col2im(col!, geometry: g, batch: 1, into: target)
                    }
                }
            }
        }
    }

    // MARK: batched: one GEMM per chunk of samples (groups = 1)

    /// A chunk's samples `n₀ ..< n₁` (`m = n₁ − n₀`, all of them with one thread): the patch
    /// matrix `X_w = [cols_n₀ … cols_n₁₋₁]` (`K × m·P`: im2col of the chunk, for 1×1 a
    /// channel-major copy; kept for backward in `columns`, at offset `n₀·K·P`),
    /// `Y_w = W · X_w` (`O × m·P`) in `channelMajor`, then back to NCHW with the bias.
    private func forwardBatched(_ x: Tensor<Scalar>, geometry g: ConvolutionGeometry, pointwise: Bool, parameters: ForwardParameters) {
        let n = x.batch, p = g.outputSpatial, o = outputChannels, c = g.patchLength
        let inputCount = x.shape.count
        input = x.values   // read by backwardOverSampleChunks (the products use the patch matrix)
        columns.reshapeForReuse(rows: c, columns: n * p)
        channelMajor.reshapeForReuse(rows: o, columns: n * p)
        let biasValues = parameters.bias ?? .empty, hasBias = parameters.bias != nil
        let observer = gemmObserver, epilogue = parameters.epilogue
        parameters.weight.withUnsafeBufferPointer { w in
            biasValues.withUnsafeBufferPointer { b in
                withPointers(x.values, &output) { xp, yp in
                    columns.withUnsafeMutableBufferPointer { xc in
                        channelMajor.withUnsafeMutableBufferPointer { yc in
                            let out = WorkerPointer(yp), xcm = WorkerPointer(xc.baseAddress!), ycm = WorkerPointer(yc.baseAddress!)
                            forEachSampleChunk(n) { samples, _, slot in
                                let m = samples.count, first = samples.lowerBound
                                let xw = xcm.base + first * c * p, yw = ycm.base + first * o * p
                                if pointwise {
                                    Scalar.batchToChannelMajor(xp + first * inputCount, into: xw, batch: m, channels: c, spatial: p)
                                } else {
                                    Scalar.im2col(xp + first * inputCount, geometry: g, batch: m, into: xw)
                                }
                                let product = {
                                    Scalar.gemm(.none, .none, m: o, n: m * p, k: c, alpha: 1, a: w.baseAddress!, lda: c,
                                                b: xw, ldb: m * p, beta: 0, c: yw, ldc: m * p)
                                }
                                if slot == 0 { observer.observe(product) } else { product() }
                                Scalar.channelMajorToBatch(yw, bias: hasBias ? b.baseAddress! : nil, into: out.base + first * o * p,
                                                           batch: m, channels: o, spatial: p)
                                epilogue.apply(out.base, samples: samples, channels: o, plane: p)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Per chunk of samples (`backwardOverSampleChunks`; its chunks may differ from the forward
    /// pass's, the saved patches are indexed by sample): `G_w` = the chunk's
    /// `∂Y` channel-major (`O × m·P`), `∂W += G_w · X_wᵀ` into the chunk's accumulator,
    /// `∂X_w = Wᵀ · G_w` over `X_w`'s buffer (the saved patches are used up), then col2im (1×1:
    /// a copy) back to NCHW.
    private func backwardBatched(_ gradient: Tensor<Scalar>, geometry g: ConvolutionGeometry, pointwise: Bool) {
        let n = batch, p = g.outputSpatial, o = outputChannels, c = g.patchLength
        let inputCount = inputShape.count
        precondition(columns.rows == c && columns.columns == n * p, "\(name).backward: no forward pass to go back through")
        channelMajor.reshapeForReuse(rows: o, columns: n * p)
        let observer = gemmObserver
        columns.withUnsafeMutableBufferPointer { xc in
            channelMajor.withUnsafeMutableBufferPointer { gc in
                let xcm = WorkerPointer(xc.baseAddress!), gcm = WorkerPointer(gc.baseAddress!)
                backwardOverSampleChunks(gradient) { samples, slot, buffers in
                    let m = samples.count, first = samples.lowerBound
                    let xw = xcm.base + first * c * p, gw = gcm.base + first * o * p
                    Scalar.batchToChannelMajor(buffers.outputGradient + first * o * p, into: gw, batch: m, channels: o, spatial: p)
                    let products = {
                        if let dw = buffers.weightGradient {
                            Scalar.gemm(.none, .transpose, m: o, n: c, k: m * p, alpha: 1, a: gw, lda: m * p,
                                        b: xw, ldb: m * p, beta: 1, c: dw, ldc: c)
                        }
                        if buffers.inputGradient != nil {
                            Scalar.gemm(.transpose, .none, m: c, n: m * p, k: o, alpha: 1, a: buffers.weight, lda: c,
                                        b: gw, ldb: m * p, beta: 0, c: xw, ldc: m * p)
                        }
                    }
                    if slot == 0 { observer.observe(products) } else { products() }
                    if let dx = buffers.inputGradient {
                        if pointwise {
                            Scalar.channelMajorToBatch(xw, bias: nil, into: dx + first * inputCount, batch: m, channels: c, spatial: p)
                        } else {
                            Scalar.col2im(xw, geometry: g, batch: m, into: dx + first * inputCount)
                        }
                    }
                }
            }
        }
    }

    // MARK: Winograd F(2×2, 3×3) (groups = 1, 3×3, stride 1)

    /// Whether `.automatic` runs an eligible 3×3 stride-1 layer by Winograd F(2×2, 3×3)
    /// (`WinogradConvolution`) rather than im2col + GEMM: when `C ≥ 32`, `O ≥ 32` and the tiles
    /// save at least half of the multiplications, `9·OH·OW ≥ 2 · 16·⌈OH/2⌉·⌈OW/2⌉` (true for
    /// even planes, where the ratio is 2.25; false for 7×7, where the last tile row and column
    /// are mostly padding and the ratio is 1.72). Narrower layers spend more in the transforms
    /// than they save in the GEMMs. Measured per layer shape (docs/networks.md, "Winograd").
    public static func winogradPays(_ tiling: WinogradTiling, outputs: Int) -> Bool {
        let p = tiling.outputHeight * tiling.outputWidth
        return tiling.channels >= 32 && outputs >= 32 && 9 * p >= 2 * 16 * tiling.tilesPerSample
    }

    /// The Winograd kernel (`WinogradConvolution`); evaluation-mode passes keep the transformed
    /// weights while their stamp (`parameterVersion`, or the folded weights' generation) is
    /// unchanged.
    private func forwardWinograd(_ x: Tensor<Scalar>, geometry g: ConvolutionGeometry, parameters: ForwardParameters) {
        input = x.values
        let kernel = winograd ?? WinogradConvolution<Scalar>()
        winograd = kernel
        kernel.blockTiles = winogradBlockTiles
        let biasValues = parameters.bias ?? .empty, hasBias = parameters.bias != nil
        biasValues.withUnsafeBufferPointer { b in
            withPointers(x.values, &output) { xp, yp in
                kernel.forward(xp, batch: x.batch, tiling: WinogradTiling(g), outputs: outputChannels, weight: parameters.weight,
                               bias: hasBias ? b.baseAddress! : nil, weightStamp: parameters.stamp, epilogue: parameters.epilogue,
                               pool: pool, observer: gemmObserver, into: yp)
            }
        }
    }

    private func backwardWinograd(_ gradient: Tensor<Scalar>, geometry g: ConvolutionGeometry) {
        guard let kernel = winograd else { preconditionFailure("\(name).backward: no Winograd forward pass") }
        let needsInput = computesInputGradient, needsWeight = !isFrozen
        guard needsInput || needsWeight, batch > 0 else { return }
        let cached = input
        cached.withUnsafeBufferPointer { xp in
            gradient.values.withUnsafeBufferPointer { gp in
                weightGradient.withUnsafeMutableBufferPointer { dw in
                    inputGradient.withUnsafeMutableBufferPointer { dx in
                        kernel.backward(input: xp.baseAddress!, outputGradient: gp.baseAddress!, batch: batch, tiling: WinogradTiling(g),
                                        outputs: outputChannels, weightGradient: needsWeight ? dw.baseAddress! : nil,
                                        inputGradient: needsInput ? dx.baseAddress! : nil, pool: pool, observer: gemmObserver)
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
