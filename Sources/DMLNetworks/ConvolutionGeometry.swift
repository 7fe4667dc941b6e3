/// A height and a width: a kernel or a stride of a 2-D convolution or pooling window.
/// An integer literal means the same value for both (`3` is `3 × 3`).
public struct Size2D: Hashable, Sendable, Codable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The vertical extent.
    public var height: Int
    /// The horizontal extent.
    public var width: Int

    /// `height × width`.
    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    /// `size × size`.
    public init(_ size: Int) { self.init(height: size, width: size) }

    /// `value × value`.
    public init(integerLiteral value: Int) { self.init(value) }

    /// `"h×w"`.
    public var description: String { "\(height)×\(width)" }
}

/// Zero padding of a 2-D window operation, per side. An integer literal pads every side by
/// the same amount (PyTorch's `padding=p`).
public struct Padding2D: Hashable, Sendable, Codable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// Rows added above the input.
    public var top: Int
    /// Rows added below the input.
    public var bottom: Int
    /// Columns added left of the input.
    public var left: Int
    /// Columns added right of the input.
    public var right: Int

    /// Explicit padding per side.
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    /// `height` rows above and below, `width` columns left and right (PyTorch's `padding=(ph, pw)`).
    public init(height: Int, width: Int) { self.init(top: height, bottom: height, left: width, right: width) }

    /// `all` on every side.
    public init(_ all: Int) { self.init(top: all, bottom: all, left: all, right: all) }

    /// `value` on every side.
    public init(integerLiteral value: Int) { self.init(value) }

    /// No padding.
    public static var zero: Padding2D { Padding2D(0) }

    /// TensorFlow's static `"SAME"` padding for an input of `inputHeight × inputWidth`, as the
    /// EfficientNet reference's `Conv2dStaticSamePadding`: the output is `⌈H/s⌉ × ⌈W/s⌉`, the
    /// total padding per dimension is `max((⌈H/s⌉ − 1)·s + k − H, 0)`, split with the smaller
    /// half before (`top = ⌊total/2⌋`) and the larger after (`bottom = total − top`); likewise
    /// left/right.
    public static func same(inputHeight: Int, inputWidth: Int, kernel: Size2D, stride: Size2D) -> Padding2D {
        func split(_ input: Int, _ k: Int, _ s: Int) -> (Int, Int) {
            let output = (input + s - 1) / s
            let total = max((output - 1) * s + k - input, 0)
            return (total / 2, total - total / 2)
        }
        let (top, bottom) = split(inputHeight, kernel.height, stride.height)
        let (left, right) = split(inputWidth, kernel.width, stride.width)
        return Padding2D(top: top, bottom: bottom, left: left, right: right)
    }

    /// Whether every side is 0.
    public var isZero: Bool { top == 0 && bottom == 0 && left == 0 && right == 0 }

    /// Whether every side is at least 0.
    public var isNonNegative: Bool { top >= 0 && bottom >= 0 && left >= 0 && right >= 0 }

    /// `"p"` when uniform, else `"(top, bottom, left, right)"`.
    public var description: String {
        top == bottom && top == left && top == right ? "\(top)" : "(\(top), \(bottom), \(left), \(right))"
    }
}

/// The sizes of one im2col/GEMM 2-D convolution pass: `channels` input planes of `H × W` (the
/// channels of one group), kernel `kh × kw`, stride `sh × sw`, zero padding per side; output
/// `OH = ⌊(H + top + bottom − kh)/sh⌋ + 1`, `OW = ⌊(W + left + right − kw)/sw⌋ + 1`.
public struct ConvolutionGeometry: Hashable, Sendable {
    /// Input channels read (`C/g` for a grouped convolution, `C` for a depthwise one, where
    /// each plane is its own group).
    public let channels: Int
    /// Input height `H`.
    public let height: Int
    /// Input width `W`.
    public let width: Int
    /// Kernel height `kh`.
    public let kernelHeight: Int
    /// Kernel width `kw`.
    public let kernelWidth: Int
    /// Vertical stride `sh`.
    public let strideHeight: Int
    /// Horizontal stride `sw`.
    public let strideWidth: Int
    /// Zero padding per side.
    public let padding: Padding2D

    /// The geometry of a convolution reading `channels` planes of `height × width`.
    public init(channels: Int, height: Int, width: Int, kernel: Size2D, stride: Size2D, padding: Padding2D) {
        self.channels = channels
        self.height = height
        self.width = width
        kernelHeight = kernel.height
        kernelWidth = kernel.width
        strideHeight = stride.height
        strideWidth = stride.width
        self.padding = padding
    }

    /// A square-kernel convolution over all channels of `input` with the same padding on every side.
    public init(input: TensorShape, kernel: Int, stride: Int, padding: Int) {
        self.init(channels: input.channels, height: input.height, width: input.width,
                  kernel: Size2D(kernel), stride: Size2D(stride), padding: Padding2D(padding))
    }

    /// `OH = ⌊(H + top + bottom − kh)/sh⌋ + 1`.
    public var outputHeight: Int { (height + padding.top + padding.bottom - kernelHeight) / strideHeight + 1 }
    /// `OW = ⌊(W + left + right − kw)/sw⌋ + 1`.
    public var outputWidth: Int { (width + padding.left + padding.right - kernelWidth) / strideWidth + 1 }
    /// `P = OH · OW`, the output positions per channel.
    public var outputSpatial: Int { outputHeight * outputWidth }
    /// `H · W`, the values of one input plane.
    public var inputSpatial: Int { height * width }
    /// `channels · kh · kw`, the length of one patch (the GEMM inner dimension).
    public var patchLength: Int { channels * kernelHeight * kernelWidth }
    /// Stride 1 with output size equal to the input size (`top + bottom = kh − 1`,
    /// `left + right = kw − 1`, "same" padding, possibly asymmetric).
    public var isSameStrideOne: Bool {
        strideHeight == 1 && strideWidth == 1
            && padding.top + padding.bottom == kernelHeight - 1 && padding.left + padding.right == kernelWidth - 1
            && padding.top < height && padding.bottom < height && padding.left < width && padding.right < width
    }
    /// A 1×1 kernel with stride 1 and no padding: the patch matrix of a sample is the sample itself.
    public var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1 && padding.isZero
    }
    /// Whether the sizes are positive and the output is non-empty.
    public var isValid: Bool {
        kernelHeight > 0 && kernelWidth > 0 && strideHeight > 0 && strideWidth > 0 && padding.isNonNegative
            && height + padding.top + padding.bottom >= kernelHeight && width + padding.left + padding.right >= kernelWidth
    }

    /// The output columns `ow` whose input column `ow·sw − left + j` lies inside `0..<W`.
    @inlinable
    public func validOutputColumns(kernelColumn j: Int) -> Range<Int> {
        let ow = outputWidth, s = strideWidth
        // smallest ow with ow·s ≥ left − j
        let need = padding.left - j
        let lo = need <= 0 ? 0 : (need + s - 1) / s
        // largest ow with ow·s − left + j ≤ W − 1
        let top = width - 1 + padding.left - j
        let hi = top < 0 ? 0 : top / s + 1
        let l = min(lo, ow), h = min(max(hi, l), ow)
        return l..<h
    }
}

/// The sizes of a pooling window over `H × W` planes, as PyTorch's `MaxPool2d` / `AvgPool2d`:
/// window `kh × kw`, stride `sh × sw`, implicit padding per side, output
/// `OH = ⌊(H + top + bottom − kh)/sh⌋ + 1` (`⌈…⌉ + 1` in ceil mode, minus 1 when the last window
/// would start in the bottom padding, `(OH − 1)·sh ≥ H + top`); likewise `OW`.
///
/// Window `(oh, ow)` covers rows `oh·sh − top ..< oh·sh − top + kh`, clipped to the image.
public struct PoolingGeometry: Hashable, Sendable {
    /// Input height `H`.
    public let height: Int
    /// Input width `W`.
    public let width: Int
    /// Window height `kh`.
    public let kernelHeight: Int
    /// Window width `kw`.
    public let kernelWidth: Int
    /// Vertical stride `sh`.
    public let strideHeight: Int
    /// Horizontal stride `sw`.
    public let strideWidth: Int
    /// Implicit padding per side (each side smaller than the window in its dimension).
    public let padding: Padding2D
    /// Whether the output size rounds up (PyTorch's `ceil_mode`).
    public let ceilMode: Bool

    /// A window over `height × width` planes.
    public init(height: Int, width: Int, kernel: Size2D, stride: Size2D, padding: Padding2D = .zero, ceilMode: Bool = false) {
        self.height = height
        self.width = width
        kernelHeight = kernel.height
        kernelWidth = kernel.width
        strideHeight = stride.height
        strideWidth = stride.width
        self.padding = padding
        self.ceilMode = ceilMode
    }

    /// A square `kernel × kernel` window with the given stride, no padding, floor mode.
    public init(height: Int, width: Int, kernel: Int, stride: Int) {
        self.init(height: height, width: width, kernel: Size2D(kernel), stride: Size2D(stride))
    }

    static func outputSize(input: Int, kernel: Int, stride: Int, before: Int, after: Int, ceilMode: Bool) -> Int {
        let span = input + before + after - kernel
        guard span >= 0, stride > 0 else { return 0 }
        var size = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        if ceilMode && (size - 1) * stride >= input + before { size -= 1 }
        return size
    }

    /// The output height `OH`.
    public var outputHeight: Int {
        Self.outputSize(input: height, kernel: kernelHeight, stride: strideHeight, before: padding.top, after: padding.bottom, ceilMode: ceilMode)
    }
    /// The output width `OW`.
    public var outputWidth: Int {
        Self.outputSize(input: width, kernel: kernelWidth, stride: strideWidth, before: padding.left, after: padding.right, ceilMode: ceilMode)
    }
    /// Whether every window lies inside the image (no padding, floor mode or an exact fit):
    /// the kernels then skip the clipping.
    public var hasFullWindows: Bool {
        padding.isZero && (outputHeight - 1) * strideHeight + kernelHeight <= height
            && (outputWidth - 1) * strideWidth + kernelWidth <= width
    }
    /// Whether the window fits, each padding is smaller than the window, and the output is non-empty.
    public var isValid: Bool {
        kernelHeight > 0 && kernelWidth > 0 && strideHeight > 0 && strideWidth > 0 && padding.isNonNegative
            && padding.top < kernelHeight && padding.bottom < kernelHeight
            && padding.left < kernelWidth && padding.right < kernelWidth
            && height + padding.top + padding.bottom >= kernelHeight && width + padding.left + padding.right >= kernelWidth
            && outputHeight > 0 && outputWidth > 0
    }
}

/// How `Conv2D` maps a dense convolution onto GEMM (grouped convolutions always run per sample;
/// depthwise and 1×1 stride-1 convolutions have their own kernels): im2col per sample or batched,
/// or, for ungrouped 3×3 stride-1 layers, Winograd F(2×2, 3×3).
public enum ConvolutionAlgorithm: String, Sendable, Codable, CaseIterable {
    /// One im2col and one GEMM per sample, writing straight into the NCHW output; the patch
    /// matrix of one sample stays in cache and no layout permutation is needed.
    case perSample
    /// One im2col of a chunk of samples (the whole batch with one thread; for 1×1 a channel-major
    /// copy) into a `(C·k²) × (m·P)` matrix and one large GEMM, then a permutation from
    /// channel-major to NCHW; the samples are split over the pool by chunk.
    case batched
    /// `winograd` for the ungrouped 3×3 stride-1 layers where `Conv2D.winogradPays`; otherwise
    /// `batched` where `Conv2D.batchingPays` (the plane small against the weights), else
    /// `perSample` (the default).
    case automatic
    /// Winograd F(2×2, 3×3) (`WinogradConvolution`: 16 GEMMs `O × C · C × tiles` between an
    /// input and an output transform, 2.25× fewer multiplications than im2col) for every
    /// ungrouped 3×3 stride-1 layer; other layers as `im2col`.
    case winograd
    /// `automatic` without Winograd: `batched` where `Conv2D.batchingPays`, else `perSample`.
    case im2col
}

/// The kernel a `Conv2D` forward pass ran (`Conv2D.lastKernel`), chosen from the layer's shape
/// and its `ConvolutionAlgorithm`.
public enum ConvolutionKernel: String, Sendable, CaseIterable {
    /// The direct depthwise loop (`g = C > 1`).
    case depthwise
    /// 1×1 stride 1 unpadded, one GEMM per sample on the input itself.
    case pointwise
    /// 1×1 stride 1 unpadded, one GEMM per chunk of samples (a channel-major copy of the input).
    case pointwiseBatched = "pointwise batched"
    /// im2col and one GEMM per sample (and group).
    case perSample = "im2col"
    /// im2col of a chunk of samples and one GEMM.
    case batched = "im2col batched"
    /// Winograd F(2×2, 3×3).
    case winograd
}
