/// The sizes of a square-kernel 2-D convolution: input `C × H × W`, kernel `k × k`, stride `s`,
/// zero padding `pad`, output `OH × OW` with `OH = ⌊(H + 2·pad − k)/s⌋ + 1` (likewise `OW`).
public struct ConvolutionGeometry: Hashable, Sendable {
    /// Input channels `C`.
    public let channels: Int
    /// Input height `H`.
    public let height: Int
    /// Input width `W`.
    public let width: Int
    /// Kernel size `k`.
    public let kernel: Int
    /// Stride `s`.
    public let stride: Int
    /// Zero padding on every side.
    public let padding: Int

    /// The geometry of a convolution over `input`.
    public init(input: TensorShape, kernel: Int, stride: Int, padding: Int) {
        channels = input.channels
        height = input.height
        width = input.width
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// `OH = ⌊(H + 2·pad − k)/s⌋ + 1`.
    public var outputHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    /// `OW = ⌊(W + 2·pad − k)/s⌋ + 1`.
    public var outputWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    /// `P = OH · OW`, the output positions per channel.
    public var outputSpatial: Int { outputHeight * outputWidth }
    /// `C · k²`, the length of one patch (the GEMM inner dimension).
    public var patchLength: Int { channels * kernel * kernel }
    /// Stride 1 with output size equal to the input size (`2·pad = k − 1`, "same" padding).
    public var isSameStrideOne: Bool {
        stride == 1 && 2 * padding == kernel - 1 && padding < width && padding < height
    }
    /// Whether the output is non-empty.
    public var isValid: Bool {
        kernel > 0 && stride > 0 && padding >= 0 && height + 2 * padding >= kernel && width + 2 * padding >= kernel
    }

    /// The output columns `ow` whose input column `ow·s − pad + j` lies inside `0..<W`.
    @inlinable
    public func validOutputColumns(kernelColumn j: Int) -> Range<Int> {
        let ow = outputWidth
        // smallest ow with ow·s ≥ pad − j
        let need = padding - j
        let lo = need <= 0 ? 0 : (need + stride - 1) / stride
        // largest ow with ow·s − pad + j ≤ W − 1
        let top = width - 1 + padding - j
        let hi = top < 0 ? 0 : top / stride + 1
        let l = min(lo, ow), h = min(max(hi, l), ow)
        return l..<h
    }
}

/// The sizes of a pooling window over `H × W` planes: window `k × k`, stride `s`, no padding,
/// output `OH = ⌊(H − k)/s⌋ + 1` (likewise `OW`), as PyTorch's default `ceil_mode=False`.
public struct PoolingGeometry: Hashable, Sendable {
    /// Input height `H`.
    public let height: Int
    /// Input width `W`.
    public let width: Int
    /// Window size `k`.
    public let kernel: Int
    /// Stride `s`.
    public let stride: Int

    /// A `kernel × kernel` window with the given stride over `height × width` planes.
    public init(height: Int, width: Int, kernel: Int, stride: Int) {
        self.height = height
        self.width = width
        self.kernel = kernel
        self.stride = stride
    }

    /// `OH = ⌊(H − k)/s⌋ + 1`.
    public var outputHeight: Int { (height - kernel) / stride + 1 }
    /// `OW = ⌊(W − k)/s⌋ + 1`.
    public var outputWidth: Int { (width - kernel) / stride + 1 }
    /// Whether the window fits and the output is non-empty.
    public var isValid: Bool { kernel > 0 && stride > 0 && height >= kernel && width >= kernel }
}

/// How `Conv2D` maps the convolution onto GEMM.
public enum ConvolutionAlgorithm: String, Sendable, Codable, CaseIterable {
    /// One im2col and one GEMM per sample, writing straight into the NCHW output; the patch
    /// matrix of one sample stays in cache and no layout permutation is needed (the default).
    case perSample
    /// One im2col of the whole batch into a `(C·k²) × (N·P)` matrix and one large GEMM, then a
    /// permutation from channel-major to NCHW.
    case batched
}
