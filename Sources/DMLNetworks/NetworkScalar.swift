import DMLNumerics

/// A BLAS scalar (`Float` or `Double`) with the elementwise kernels the layers and optimizers
/// run: ReLU, im2col/col2im, pooling, batch normalization, dropout, L2 normalization and the
/// optimizer updates.
///
/// Why a protocol and not free generic functions: layers are generic classes reached through
/// `any Layer<Scalar>` existentials, whose methods run as *unspecialized* generic code, where
/// every `+` on `Scalar` is a witness call (40× slower than specialized code, measured). Each
/// kernel below is a protocol requirement whose default implementation is specialized for the
/// concrete conformances `Float` and `Double` in this module, so a generic layer calls
/// `Scalar.reluForward(…)` once per batch and the per-element loop runs fully specialized.
///
/// All pointers address contiguous storage; activations are NCHW (`(n·C + c)·H·W + h·W + w`).
public protocol NetworkScalar: BLASScalar {
    /// `x_i ← value` for `i < count`.
    static func fill(_ x: UnsafeMutablePointer<Self>, count: Int, value: Self)
    /// `y_i = x_i · m_i` for `i < count`.
    static func multiply(_ x: UnsafePointer<Self>, _ m: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i = max(x_i, 0)`.
    static func reluForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `dx_i = g_i · [y_i > 0]` (with `y` the ReLU output).
    static func reluBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i = min(max(x_i, 0), 6)`.
    static func relu6Forward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `dx_i = g_i · [0 < y_i < 6]` (with `y` the ReLU6 output; PyTorch's subgradient 0 at both kinks).
    static func relu6Backward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i = a_i + b_i`.
    static func add(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i += x_i`.
    static func accumulate(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `y_i = x_i`.
    static func copy(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `y_ij = x_ij + b_j` for a `rows × columns` matrix `x` and a row vector `b`.
    static func addRowVector(_ b: UnsafePointer<Self>, to y: UnsafeMutablePointer<Self>, rows: Int, columns: Int)
    /// `Σ_i x_i` over `count` contiguous values.
    static func channelRowSum(_ x: UnsafePointer<Self>, count: Int) -> Self
    /// `s_j += Σ_i g_ij` (column sums of a `rows × columns` matrix, accumulated).
    static func accumulateColumnSums(_ g: UnsafePointer<Self>, rows: Int, columns: Int, into s: UnsafeMutablePointer<Self>)

    /// Unfolds convolution patches: `col[r, n·P + p]` with `r = (c·k + i)·k + j`, `P = OH·OW`,
    /// `p = oh·OW + ow`, equals `x[n, c, oh·s − pad + i, ow·s − pad + j]` (0 outside the image).
    static func im2col(_ x: UnsafePointer<Self>, geometry: ConvolutionGeometry, batch: Int, into col: UnsafeMutablePointer<Self>)
    /// The adjoint of `im2col`: `dx[n, c, ih, iw] = Σ col[r, n·P + p]` over the patches that read it
    /// (`dx` is overwritten).
    static func col2im(_ col: UnsafePointer<Self>, geometry: ConvolutionGeometry, batch: Int, into dx: UnsafeMutablePointer<Self>)
    /// From channel-major `z[c, n·P + p]` (a `C × (N·P)` GEMM result) to NCHW `y[n, c, p] = z[c, n·P + p] + b_c`
    /// (`bias` may be nil).
    static func channelMajorToBatch(_ z: UnsafePointer<Self>, bias: UnsafePointer<Self>?, into y: UnsafeMutablePointer<Self>, batch: Int, channels: Int, spatial: Int)
    /// From NCHW `g[n, c, p]` to channel-major `z[c, n·P + p]`.
    static func batchToChannelMajor(_ g: UnsafePointer<Self>, into z: UnsafeMutablePointer<Self>, batch: Int, channels: Int, spatial: Int)
    /// Depthwise convolution of one sample, directly (no im2col): `geometry.channels = C` planes,
    /// `M = multiplier` outputs per plane, output channel `o` reads plane `⌊o/M⌋`:
    /// `y[o, oh, ow] = b_o + Σ_{i<kh, j<kw} W[o, i, j] · x[⌊o/M⌋, oh·sh − top + i, ow·sw − left + j]`
    /// (0 outside the image). `W` is `(C·M) × (kh·kw)`, `bias` may be nil; `y` is overwritten.
    static func depthwiseForward(_ x: UnsafePointer<Self>, weight: UnsafePointer<Self>, bias: UnsafePointer<Self>?, geometry: ConvolutionGeometry, multiplier: Int, into y: UnsafeMutablePointer<Self>)
    /// The backward pass of `depthwiseForward` for one sample: `∂W[o, i, j] += Σ_{oh,ow} g[o, oh, ow] · x[…]`
    /// (when `weightGradient` is non-nil) and `∂x[c, ih, iw] = Σ W[o, i, j] · g[o, oh, ow]` over the
    /// outputs that read it (overwritten, when `inputGradient` is non-nil).
    static func depthwiseBackward(_ gradient: UnsafePointer<Self>, input x: UnsafePointer<Self>, weight: UnsafePointer<Self>, geometry: ConvolutionGeometry, multiplier: Int, weightGradient: UnsafeMutablePointer<Self>?, inputGradient: UnsafeMutablePointer<Self>?)

    /// Max pooling over `planes = N·C` planes of `H × W` (see `PoolingGeometry`): `y = max` over
    /// the window clipped to the image (padding never wins), `argmax` the in-plane index of the
    /// first maximum in row-major window order.
    static func maxPoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>, planes: Int, geometry: PoolingGeometry)
    /// `dx[argmax] += g` per output (`dx` is overwritten first).
    static func maxPoolBackward(_ g: UnsafePointer<Self>, argmax: UnsafePointer<Int32>, into dx: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry)
    /// Average pooling: `y = (1/D) Σ` over the window clipped to the image, with `D` the window
    /// size clipped to the padded input when `countIncludesPadding` (PyTorch's default), else the
    /// number of image values in the window.
    static func averagePoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry, countIncludesPadding: Bool)
    /// `dx += g / D` over each clipped window (`dx` is overwritten first).
    static func averagePoolBackward(_ g: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry, countIncludesPadding: Bool)

    /// `y_q = (1/P) Σ_{i<P} x[q·P + i]` for each of `planes` contiguous planes of `P = spatial` values.
    static func planeMeans(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, spatial: Int)
    /// `dx[q·P + i] = g_q / P`, the adjoint of `planeMeans`.
    static func planeMeansBackward(_ g: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, planes: Int, spatial: Int)

    /// Per-channel batch statistics over `N·P` values: `μ_c` and the biased variance `σ²_c`.
    static func channelStatistics(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>)
    /// `channelStatistics` for the channels in `channelRange` only (a worker's share of a split
    /// by channel; a requirement so the concrete types' specialized code is called).
    static func channelStatistics(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>)
    /// `x̂ = (x − μ_c)·r_c` and `y = γ_c x̂ + β_c`, with `r_c = 1/√(σ²_c + ε)`.
    static func batchNormForward(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, normalized: UnsafeMutablePointer<Self>, into y: UnsafeMutablePointer<Self>)
    /// `batchNormForward` for the channels in `channelRange` only.
    static func batchNormForward(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, normalized: UnsafeMutablePointer<Self>, into y: UnsafeMutablePointer<Self>)
    /// Batch-norm backward. `dγ_c += Σ g x̂`, `dβ_c += Σ g`; with batch statistics
    /// (`training`) `dx = γ_c r_c / M · (M g − Σ g − x̂ Σ g x̂)`, `M = N·P`; with fixed running
    /// statistics `dx = γ_c r_c g`.
    static func batchNormBackward(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, gamma: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, training: Bool, into dx: UnsafeMutablePointer<Self>, gammaGradient: UnsafeMutablePointer<Self>, betaGradient: UnsafeMutablePointer<Self>)
    /// `batchNormBackward` for the channels in `channelRange` only.
    static func batchNormBackward(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, gamma: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, training: Bool, into dx: UnsafeMutablePointer<Self>, gammaGradient: UnsafeMutablePointer<Self>, betaGradient: UnsafeMutablePointer<Self>)
    /// The two per-channel sums of the batch-norm backward pass for the channels in
    /// `channelRange`: `sumG[c] = Σ g`, `sumGH[c] = Σ g x̂` over this batch's `N·P` values
    /// (overwritten; synchronized batch normalization adds them over the replicas).
    static func batchNormGradientSums(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, sumG: UnsafeMutablePointer<Self>, sumGH: UnsafeMutablePointer<Self>)
    /// `dx = γ_c r_c (g − ḡ_c − x̂ h̄_c)` for the channels in `channelRange`, with the means over
    /// the whole batch `ḡ_c = Σ g / M` (`meanG`) and `h̄_c = Σ g x̂ / M` (`meanGH`).
    static func batchNormInputGradient(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, gamma: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, meanG: UnsafePointer<Self>, meanGH: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>)

    /// `y_i = x_i / max(‖x_i‖, ε)` row-wise; `norms_i = max(‖x_i‖, ε)`.
    static func l2NormalizeRows(_ x: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into y: UnsafeMutablePointer<Self>, norms: UnsafeMutablePointer<Self>)
    /// `dx_i = (g_i − y_i (y_i·g_i)) / ‖x_i‖` (or `g_i / ε` where the norm was clamped).
    static func l2NormalizeBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, norms: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into dx: UnsafeMutablePointer<Self>)

    /// An inverted-dropout mask: each entry is `1/(1 − p)` with probability `1 − p`, else 0.
    static func dropoutMask(into m: UnsafeMutablePointer<Self>, count: Int, dropProbability: Double, generator: inout SeededGenerator)

    /// One Adam/AdamW update of `count` weights (see `Adam`).
    static func adamUpdate(weights w: UnsafeMutablePointer<Self>, gradients g: UnsafePointer<Self>, firstMoment m: UnsafeMutablePointer<Self>, secondMoment v: UnsafeMutablePointer<Self>, count: Int, hyper: AdamStepConstants)
    /// One SGD-with-momentum update of `count` weights (see `SGD`).
    static func sgdUpdate(weights w: UnsafeMutablePointer<Self>, gradients g: UnsafePointer<Self>, momentumBuffer b: UnsafeMutablePointer<Self>, count: Int, hyper: SGDStepConstants)
}

extension Float: NetworkScalar {}
extension Double: NetworkScalar {}
