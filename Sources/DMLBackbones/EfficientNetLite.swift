import Foundation
import DMLNumerics
import DMLNetworks

/// EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile accelerators) as the PyPI
/// reference port `efficientnet-lite-pytorch` 0.1.0 builds it, ending in the pooled features.
///
/// The Lite changes from EfficientNet-B0: ReLU6 instead of Swish, no squeeze-and-excitation, and
/// a fixed stem (32 channels) and head (1280 channels) whatever the width multiplier.
///
///     _conv_stem   Conv 3×3, stride 2, "same" padding, no bias     3 → 32
///     _bn0         BatchNorm (ε 1e-3, momentum 0.01 = 1 − TensorFlow's 0.99)
///     ReLU6
///     _blocks.N    16 MBConv blocks (stages below)
///     _conv_head   Conv 1×1, no bias → 1280;  _bn1;  ReLU6
///     _avg_pooling global average pooling → 1280 features
///
/// Stages (repeats, kernel, stride, expansion, output channels): (1, 3, 1, 1, 16),
/// (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112), (4, 5, 2, 6, 192),
/// (1, 3, 1, 6, 320). Channel counts are `roundFilters(c · width)`; the repeats of the inner
/// stages `⌈depth · r⌉` (the first and last stage keep theirs, as do the stem and head).
///
/// MBConv block `_blocks.N`: `_expand_conv` 1×1 → `_bn0` → ReLU6 (absent when the expansion is
/// 1), `_depthwise_conv` k×k with the stride (groups = channels) → `_bn1` → ReLU6,
/// `_project_conv` 1×1 → `_bn2` (no activation), plus the input when the stride is 1 and the
/// channel count unchanged. Drop connect (stochastic depth of the residual branch, rate 0.2 in
/// the reference's training) is off by default (`dropConnectRate`); evaluation mode is the same
/// either way.
///
/// "Same" padding is static, as the reference's `Conv2dStaticSamePadding`: for the image size the
/// network is built for, a k×k convolution of stride s on an i-pixel side gets
/// `p = max((⌈i/s⌉ − 1)·s + k − i, 0)` zeros, `⌊p/2⌋` before and the rest after (asymmetric when
/// p is odd: 224 px, stem → 0 above/left, 1 below/right).
///
/// The classifier `_fc` (1280 → 1000) is not part of the backbone (see `BackboneWeights.classifier`).
/// Weights are He-normal (fan-in) initialized; BatchNorm γ = 1, β = 0.
public enum EfficientNetLite {
    /// The global parameters of the network.
    public struct Configuration: Sendable, Equatable {
        /// The width multiplier of the block channels (1.0 for Lite0).
        public var widthCoefficient: Double
        /// The depth multiplier of the inner stages' repeats (1.0 for Lite0).
        public var depthCoefficient: Double
        /// The square input size the static "same" padding is computed for (224 for Lite0).
        public var imageSize: Int
        /// The drop-connect (stochastic depth) rate: block N of B drops its residual branch with
        /// probability `rate · N / B` in training mode (the reference trains with 0.2); 0: none.
        public var dropConnectRate: Double

        /// A configuration.
        public init(widthCoefficient: Double = 1.0, depthCoefficient: Double = 1.0, imageSize: Int = 224,
                    dropConnectRate: Double = 0) {
            self.widthCoefficient = widthCoefficient
            self.depthCoefficient = depthCoefficient
            self.imageSize = imageSize
            self.dropConnectRate = dropConnectRate
        }

        /// EfficientNet-Lite0 at `imageSize` (224 natively).
        public static func lite0(imageSize: Int = 224) -> Configuration { Configuration(imageSize: imageSize) }
    }

    /// One stage of blocks: repeats, kernel, stride, expansion ratio, input and output channels
    /// (before width scaling).
    struct Stage {
        let repeats, kernel, stride, expansion, input, output: Int
    }

    static let stages = [
        Stage(repeats: 1, kernel: 3, stride: 1, expansion: 1, input: 32, output: 16),
        Stage(repeats: 2, kernel: 3, stride: 2, expansion: 6, input: 16, output: 24),
        Stage(repeats: 2, kernel: 5, stride: 2, expansion: 6, input: 24, output: 40),
        Stage(repeats: 3, kernel: 3, stride: 2, expansion: 6, input: 40, output: 80),
        Stage(repeats: 3, kernel: 5, stride: 1, expansion: 6, input: 80, output: 112),
        Stage(repeats: 4, kernel: 5, stride: 2, expansion: 6, input: 112, output: 192),
        Stage(repeats: 1, kernel: 3, stride: 1, expansion: 6, input: 192, output: 320),
    ]

    /// The stem's and head's fixed widths.
    public static let stemChannels = 32, headChannels = 1280
    /// BatchNorm ε and momentum of the reference (TensorFlow's decay 0.99 → PyTorch momentum 0.01).
    public static let batchNormEpsilon = 1e-3, batchNormMomentum = 0.01

    /// The reference's `round_filters`: `f·w` rounded to a multiple of 8 (at least 8), adding 8
    /// when rounding lost more than 10 %.
    public static func roundFilters(_ filters: Int, width: Double, divisor: Int = 8) -> Int {
        let scaled = Double(filters) * width
        var rounded = max(divisor, Int(scaled + Double(divisor) / 2) / divisor * divisor)
        if Double(rounded) < 0.9 * scaled { rounded += divisor }
        return rounded
    }

    /// The reference's `round_repeats`: `⌈depth · r⌉`.
    public static func roundRepeats(_ repeats: Int, depth: Double) -> Int {
        Int((depth * Double(repeats)).rounded(.up))
    }

    /// The static "same" padding of a `kernel`, `stride` window on a `size × size` input.
    public static func samePadding(size: Int, kernel: Int, stride: Int) -> Padding2D {
        let out = (size + stride - 1) / stride
        let total = max((out - 1) * stride + kernel - size, 0)
        return Padding2D(top: total / 2, bottom: total - total / 2, left: total / 2, right: total - total / 2)
    }

    /// The backbone of `configuration`, weights from `seed`, for 3-channel input.
    public static func make<T: NetworkScalar>(_ configuration: Configuration, seed: UInt64, as _: T.Type = T.self) -> Sequential<T> {
        precondition(configuration.widthCoefficient > 0 && configuration.depthCoefficient > 0 && configuration.imageSize > 0,
                     "EfficientNet-Lite needs positive coefficients and image size")
        var g = SeededGenerator(seed: seed)
        func bn(_ c: Int) -> BatchNorm<T> { BatchNorm<T>(channels: c, momentum: batchNormMomentum, epsilon: batchNormEpsilon) }
        let width = configuration.widthCoefficient
        var size = configuration.imageSize
        let model = Sequential<T>([])
        model.append(Conv2D<T>(3, stemChannels, kernel: 3, stride: 2, padding: samePadding(size: size, kernel: 3, stride: 2),
                               bias: false, generator: &g), name: "_conv_stem")
        model.append(bn(stemChannels), name: "_bn0")
        model.append(Activation<T>(.relu6), name: "_relu0")
        size = (size + 1) / 2
        let blocks = Sequential<T>([])
        var channels = stemChannels
        let repeats = stages.enumerated().map { index, stage in
            index == 0 || index == stages.count - 1 ? stage.repeats : roundRepeats(stage.repeats, depth: configuration.depthCoefficient)
        }
        let blockCount = repeats.reduce(0, +)
        for (index, stage) in stages.enumerated() {
            let output = roundFilters(stage.output, width: width)
            for r in 0..<repeats[index] {
                let stride = r == 0 ? stage.stride : 1
                let n = blocks.layers.count
                let dropConnect = configuration.dropConnectRate * Double(n) / Double(blockCount)
                let block = makeBlock(input: channels, output: output, expansion: stage.expansion, kernel: stage.kernel,
                                      stride: stride, size: size, dropConnect: dropConnect, seed: seed &+ UInt64(n + 1),
                                      bn: bn, generator: &g)
                blocks.append(block)
                if r == 0 { size = (size + stride - 1) / stride }
                channels = output
            }
        }
        model.append(blocks, name: "_blocks")
        model.append(Conv2D<T>(channels, headChannels, kernelSize: 1, bias: false, generator: &g), name: "_conv_head")
        model.append(bn(headChannels), name: "_bn1")
        model.append(Activation<T>(.relu6), name: "_relu1")
        model.append(GlobalAvgPool<T>(), name: "_avg_pooling")
        return model
    }

    /// One MBConv block on a `size × size` input.
    static func makeBlock<T: NetworkScalar>(input: Int, output: Int, expansion: Int, kernel: Int, stride: Int, size: Int,
                                            dropConnect: Double, seed: UInt64,
                                            bn: (Int) -> BatchNorm<T>, generator g: inout SeededGenerator) -> any Layer<T> {
        let expanded = input * expansion
        var body: [(String, any Layer<T>)] = []
        if expansion != 1 {
            body.append(("_expand_conv", Conv2D<T>(input, expanded, kernelSize: 1, bias: false, generator: &g)))
            body.append(("_bn0", bn(expanded)))
            body.append(("_relu0", Activation<T>(.relu6)))
        }
        body.append(("_depthwise_conv", Conv2D<T>(expanded, expanded, kernel: Size2D(kernel), stride: Size2D(stride),
                                                  padding: samePadding(size: size, kernel: kernel, stride: stride),
                                                  groups: expanded, bias: false, generator: &g)))
        body.append(("_bn1", bn(expanded)))
        body.append(("_relu1", Activation<T>(.relu6)))
        body.append(("_project_conv", Conv2D<T>(expanded, output, kernelSize: 1, bias: false, generator: &g)))
        body.append(("_bn2", bn(output)))
        if stride == 1 && input == output {
            if dropConnect > 0 { body.append(("_drop_connect", StochasticDepth<T>(probability: dropConnect, seed: seed))) }
            return Residual<T>(named: body)
        }
        return Sequential<T>(named: body)
    }
}
