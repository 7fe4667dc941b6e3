import DMLNumerics

/// A 2-D convolution (cross-correlation, as in PyTorch) with a square `k × k` kernel, stride
/// `s` and zero padding: `y[n, o, oh, ow] = b_o + Σ_{c,i,j} W[o, c, i, j] · x[n, c, oh·s − pad + i, ow·s − pad + j]`.
///
/// The weights are an `O × (C·k²)` matrix (PyTorch's `O × C × k × k` in row-major order).
/// Forward is im2col over the whole batch into a `(C·k²) × (N·OH·OW)` patch matrix followed by
/// one GEMM `Z = W · cols` and a permutation of `Z` (`O × N·P`) into NCHW. Backward is one GEMM
/// for `∂L/∂W += ∂Z · colsᵀ`, one for `∂cols = Wᵀ · ∂Z`, then col2im. The patch buffers are
/// kept and reused across iterations.
public final class Conv2D<Scalar: NetworkScalar>: Layer {
    /// Input channels `C`.
    public let inputChannels: Int
    /// Output channels `O`.
    public let outputChannels: Int
    /// Kernel size `k`.
    public let kernelSize: Int
    /// Stride `s`.
    public let stride: Int
    /// Zero padding on every side.
    public let padding: Int
    /// The weights, `O × (C·k²)`.
    public var weight: Matrix<Scalar>
    /// `∂L/∂W`.
    public var weightGradient: Matrix<Scalar>
    /// The bias as a `1 × O` matrix, or nil.
    public var bias: Matrix<Scalar>?
    /// `∂L/∂b`.
    public var biasGradient: Matrix<Scalar>?
    /// When set, the GEMM time of this layer is added to it.
    public var profiler: GEMMProfiler?
    /// Whether `backward` computes `∂L/∂x`. The first layer of a network, whose input is data,
    /// can switch it off to save a GEMM and col2im; `backward` then returns zeros for `∂L/∂x`.
    public var computesInputGradient = true
    /// How the convolution is mapped onto GEMM (see `ConvolutionAlgorithm`).
    public var algorithm = ConvolutionAlgorithm.perSample

    private var geometry: ConvolutionGeometry?
    private var batch = 0
    private var columns = Matrix<Scalar>.empty
    private var channelMajor = Matrix<Scalar>.empty
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty
    private var input = Matrix<Scalar>.empty
    private var usedAlgorithm = ConvolutionAlgorithm.perSample

    /// A `C → O` convolution with a `k × k` kernel; weights from `initialization` with
    /// fanIn = `C·k²`, fanOut = `O·k²`; zero bias when `bias` is true.
    public init(_ inputChannels: Int, _ outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, initialization: Initialization = .heNormal, generator: inout SeededGenerator) {
        precondition(inputChannels > 0 && outputChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
                     "Conv2D needs positive channels, kernel and stride and a non-negative padding")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        let patch = inputChannels * kernelSize * kernelSize
        weight = initialization.weights(rows: outputChannels, columns: patch, fanIn: patch,
                                        fanOut: outputChannels * kernelSize * kernelSize, generator: &generator)
        weightGradient = Matrix(rows: outputChannels, columns: patch)
        self.bias = bias ? Matrix(rows: 1, columns: outputChannels) : nil
        biasGradient = bias ? Matrix(rows: 1, columns: outputChannels) : nil
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        let name = "Conv2D(\(inputChannels)→\(outputChannels), k=\(kernelSize), s=\(stride), p=\(padding))"
        guard input.channels == inputChannels else {
            throw NetworkShapeError(layer: name, reason: "expected \(inputChannels) input channels, got \(input)")
        }
        let g = ConvolutionGeometry(input: input, kernel: kernelSize, stride: stride, padding: padding)
        guard g.isValid else {
            throw NetworkShapeError(layer: name, reason: "input \(input) is smaller than the kernel")
        }
        return TensorShape(channels: outputChannels, height: g.outputHeight, width: g.outputWidth)
    }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        precondition(x.shape.channels == inputChannels, "Conv2D expects \(inputChannels) channels, got \(x.shape)")
        let g = ConvolutionGeometry(input: x.shape, kernel: kernelSize, stride: stride, padding: padding)
        precondition(g.isValid, "Conv2D: input \(x.shape) is smaller than the kernel")
        geometry = g
        batch = x.batch
        usedAlgorithm = algorithm
        if algorithm == .perSample { return forwardPerSample(x, geometry: g) }
        let n = x.batch, p = g.outputSpatial, o = outputChannels
        columns.reshapeForReuse(rows: g.patchLength, columns: n * p)
        withPointers(x.values, &columns) { Scalar.im2col($0, geometry: g, batch: n, into: $1) }
        channelMajor.reshapeForReuse(rows: o, columns: n * p)
        profiler.measure { Matrix.gemm(weight, columns, into: &channelMajor) }
        output.reshapeForReuse(rows: n, columns: o * p)
        if let bias {
            bias.withUnsafeBufferPointer { b in
                withPointers(channelMajor, &output) {
                    Scalar.channelMajorToBatch($0, bias: b.baseAddress!, into: $1, batch: n, channels: o, spatial: p)
                }
            }
        } else {
            withPointers(channelMajor, &output) {
                Scalar.channelMajorToBatch($0, bias: nil, into: $1, batch: n, channels: o, spatial: p)
            }
        }
        return Tensor(output, shape: TensorShape(channels: o, height: g.outputHeight, width: g.outputWidth))
    }

    public func backward(_ gradient: Tensor<Scalar>) -> Tensor<Scalar> {
        guard let g = geometry else { preconditionFailure("Conv2D.backward before forward") }
        let n = batch, p = g.outputSpatial, o = outputChannels
        precondition(gradient.batch == n && gradient.shape.count == o * p, "Conv2D.backward: gradient shape differs from the output")
        if usedAlgorithm == .perSample { return backwardPerSample(gradient, geometry: g) }
        withPointers(gradient.values, &channelMajor) {
            Scalar.batchToChannelMajor($0, into: $1, batch: n, channels: o, spatial: p)
        }
        if biasGradient != nil {
            // Σ over the N·P columns of each channel row.
            withPointers(channelMajor, &biasGradient!) { z, s in
                for c in 0..<o { s[c] += Scalar.channelRowSum(z + c * n * p, count: n * p) }
            }
        }
        profiler.measure {
            Matrix.gemm(channelMajor, columns, transB: .transpose, beta: 1, into: &weightGradient)
        }
        let inputShape = TensorShape(channels: g.channels, height: g.height, width: g.width)
        guard computesInputGradient else {
            if inputGradient.rows != n || inputGradient.columns != inputShape.count {
                inputGradient = .zeros(rows: n, columns: inputShape.count)
            }
            return Tensor(inputGradient, shape: inputShape)
        }
        // The patch buffer is no longer needed: reuse it for ∂cols.
        profiler.measure { Matrix.gemm(weight, channelMajor, transA: .transpose, into: &columns) }
        inputGradient.reshapeForReuse(rows: n, columns: inputShape.count)
        withPointers(columns, &inputGradient) { Scalar.col2im($0, geometry: g, batch: n, into: $1) }
        return Tensor(inputGradient, shape: inputShape)
    }

    /// Per sample `n`: patches `cols_n` (`C·k² × P`, small enough to stay in cache), then
    /// `y_n = W · cols_n + b` written straight into the NCHW output row (no permutation).
    private func forwardPerSample(_ x: Tensor<Scalar>, geometry g: ConvolutionGeometry) -> Tensor<Scalar> {
        let n = x.batch, p = g.outputSpatial, o = outputChannels, k = g.patchLength
        let inputCount = x.shape.count
        input = x.values
        columns.reshapeForReuse(rows: k, columns: p)
        output.reshapeForReuse(rows: n, columns: o * p)
        let hasBias = bias != nil
        let biasValues = bias ?? .empty
        weight.withUnsafeBufferPointer { w in
            biasValues.withUnsafeBufferPointer { b in
                columns.withUnsafeMutableBufferPointer { col in
                    withPointers(x.values, &output) { xp, yp in
                        for sample in 0..<n {
                            let y = yp + sample * o * p
                            Scalar.im2col(xp + sample * inputCount, geometry: g, batch: 1, into: col.baseAddress!)
                            if hasBias {
                                for c in 0..<o { Scalar.fill(y + c * p, count: p, value: b[c]) }
                            }
                            profiler.measure {
                                Scalar.gemm(.none, .none, m: o, n: p, k: k, alpha: 1, a: w.baseAddress!, lda: k,
                                            b: col.baseAddress!, ldb: p, beta: hasBias ? 1 : 0, c: y, ldc: p)
                            }
                        }
                    }
                }
            }
        }
        return Tensor(output, shape: TensorShape(channels: o, height: g.outputHeight, width: g.outputWidth))
    }

    /// Per sample: the patches are recomputed (cheaper than keeping `N` of them), then
    /// `∂W += g_n · cols_nᵀ`, `∂cols_n = Wᵀ g_n` and col2im into `∂x_n`.
    private func backwardPerSample(_ gradient: Tensor<Scalar>, geometry g: ConvolutionGeometry) -> Tensor<Scalar> {
        let n = batch, p = g.outputSpatial, o = outputChannels, k = g.patchLength
        let inputShape = TensorShape(channels: g.channels, height: g.height, width: g.width)
        let inputCount = inputShape.count
        let needsInput = computesInputGradient
        if needsInput {
            inputGradient.reshapeForReuse(rows: n, columns: inputCount)
        } else if inputGradient.rows != n || inputGradient.columns != inputCount {
            inputGradient = .zeros(rows: n, columns: inputCount)
        }
        if biasGradient != nil {
            withPointers(gradient.values, &biasGradient!) { gp, s in
                for sample in 0..<n {
                    for c in 0..<o { s[c] += Scalar.channelRowSum(gp + (sample * o + c) * p, count: p) }
                }
            }
        }
        let cached = input
        weight.withUnsafeBufferPointer { w in
            weightGradient.withUnsafeMutableBufferPointer { dw in
                columns.withUnsafeMutableBufferPointer { col in
                    inputGradient.withUnsafeMutableBufferPointer { dx in
                        cached.withUnsafeBufferPointer { xp in
                            gradient.values.withUnsafeBufferPointer { gp in
                                for sample in 0..<n {
                                    let gs = gp.baseAddress! + sample * o * p
                                    Scalar.im2col(xp.baseAddress! + sample * inputCount, geometry: g, batch: 1, into: col.baseAddress!)
                                    profiler.measure {
                                        Scalar.gemm(.none, .transpose, m: o, n: k, k: p, alpha: 1, a: gs, lda: p,
                                                    b: col.baseAddress!, ldb: p, beta: 1, c: dw.baseAddress!, ldc: k)
                                        if needsInput {
                                            Scalar.gemm(.transpose, .none, m: k, n: p, k: o, alpha: 1, a: w.baseAddress!, lda: k,
                                                        b: gs, ldb: p, beta: 0, c: col.baseAddress!, ldc: p)
                                        }
                                    }
                                    if needsInput {
                                        Scalar.col2im(col.baseAddress!, geometry: g, batch: 1, into: dx.baseAddress! + sample * inputCount)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        input = .empty
        return Tensor(inputGradient, shape: inputShape)
    }

    public func visitParameters(_ visit: (String, inout Matrix<Scalar>, inout Matrix<Scalar>) -> Void) {
        visit("weight", &weight, &weightGradient)
        if bias != nil { visit("bias", &bias!, &biasGradient!) }
    }
}
