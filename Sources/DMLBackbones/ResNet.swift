import DMLNumerics
import DMLNetworks

/// ResNet-18 and ResNet-50 as torchvision 0.14 builds them (He et al. 2016; ResNet-50 is v1.5,
/// the stride in the 3×3 convolution of the bottleneck), ending in the pooled features.
///
/// Layers and names (torchvision's, so its state dicts load by name):
///
///     conv1    Conv 7×7, stride 2, padding 3, no bias      3 → w₀
///     bn1      BatchNorm (ε 1e-5, momentum 0.1)
///     relu, maxpool (3×3, stride 2, padding 1)
///     layerS   S = 1…4: blocks "0", "1", …, stride 2 in the first block of stages 2–4
///     avgpool  global average pooling → w₃·e features (e = 1 basic, 4 bottleneck)
///
/// Basic block: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, both 3×3.
/// Bottleneck: `conv1` 1×1 → `bn1` → relu → `conv2` 3×3 (stride) → `bn2` → relu → `conv3` 1×1
/// (×4 channels) → `bn3`, plus the shortcut, then relu. The shortcut is `downsample.0` (1×1
/// convolution with the stride, no bias) and `downsample.1` (BatchNorm) when the stride or the
/// channel count changes, the identity otherwise.
///
/// The classifier `fc` is not part of the backbone. Weights are He-normal (fan-in) initialized;
/// BatchNorm γ = 1, β = 0.
public enum ResNet {
    /// The two residual block types.
    public enum Block: Sendable {
        /// Two 3×3 convolutions (ResNet-18/34), expansion 1.
        case basic
        /// 1×1 → 3×3 → 1×1 (ResNet-50/101/152), expansion 4.
        case bottleneck

        /// Output channels per unit of stage width.
        public var expansion: Int { self == .basic ? 1 : 4 }
    }

    /// The shape of a ResNet: block type, blocks per stage and stage widths.
    public struct Configuration: Sendable, Equatable {
        /// The block type.
        public var block: Block
        /// Blocks in each of the four stages.
        public var blocks: [Int]
        /// The width of each stage (64, 128, 256, 512 in the real networks); the stem has `widths[0]` channels.
        public var widths: [Int]

        /// A configuration; four stages of positive sizes.
        public init(block: Block, blocks: [Int], widths: [Int] = [64, 128, 256, 512]) {
            self.block = block
            self.blocks = blocks
            self.widths = widths
        }

        /// ResNet-18: basic blocks 2-2-2-2, 512 features.
        public static let resnet18 = Configuration(block: .basic, blocks: [2, 2, 2, 2])
        /// ResNet-50: bottlenecks 3-4-6-3, 2048 features.
        public static let resnet50 = Configuration(block: .bottleneck, blocks: [3, 4, 6, 3])

        /// The dimension of the pooled features, `widths[3] · expansion`.
        public var featureDimension: Int { widths[3] * block.expansion }
    }

    /// The backbone of `configuration`, weights from `seed`, for 3-channel input.
    public static func make<T: NetworkScalar>(_ configuration: Configuration, seed: UInt64, as _: T.Type = T.self) -> Sequential<T> {
        precondition(configuration.blocks.count == 4 && configuration.widths.count == 4
                     && configuration.blocks.allSatisfy { $0 > 0 } && configuration.widths.allSatisfy { $0 > 0 },
                     "ResNet needs four stages of positive block counts and widths")
        var g = SeededGenerator(seed: seed)
        let model = Sequential<T>([])
        var channels = configuration.widths[0]
        model.append(Conv2D<T>(3, channels, kernelSize: 7, stride: 2, padding: 3, bias: false, generator: &g), name: "conv1")
        model.append(BatchNorm<T>(channels: channels), name: "bn1")
        model.append(ReLU<T>(), name: "relu")
        model.append(MaxPool2D<T>(kernelSize: 3, stride: 2, padding: 1), name: "maxpool")
        for stage in 0..<4 {
            let width = configuration.widths[stage]
            let layer = Sequential<T>([])
            for index in 0..<configuration.blocks[stage] {
                let stride = stage > 0 && index == 0 ? 2 : 1
                let block = makeBlock(configuration.block, input: channels, width: width, stride: stride, generator: &g, as: T.self)
                layer.append(block, name: String(index))
                channels = width * configuration.block.expansion
            }
            model.append(layer, name: "layer\(stage + 1)")
        }
        model.append(GlobalAvgPool<T>(), name: "avgpool")
        return model
    }

    /// One block: `input` channels in, `width · expansion` out.
    static func makeBlock<T: NetworkScalar>(_ kind: Block, input: Int, width: Int, stride: Int,
                                            generator g: inout SeededGenerator, as _: T.Type) -> Residual<T> {
        let output = width * kind.expansion
        var body: [(String, any Layer<T>)]
        switch kind {
        case .basic:
            body = [
                ("conv1", Conv2D<T>(input, width, kernelSize: 3, stride: stride, padding: 1, bias: false, generator: &g)),
                ("bn1", BatchNorm<T>(channels: width)),
                ("relu", ReLU<T>()),
                ("conv2", Conv2D<T>(width, width, kernelSize: 3, padding: 1, bias: false, generator: &g)),
                ("bn2", BatchNorm<T>(channels: width)),
            ]
        case .bottleneck:
            body = [
                ("conv1", Conv2D<T>(input, width, kernelSize: 1, bias: false, generator: &g)),
                ("bn1", BatchNorm<T>(channels: width)),
                ("relu1", ReLU<T>()),
                ("conv2", Conv2D<T>(width, width, kernelSize: 3, stride: stride, padding: 1, bias: false, generator: &g)),
                ("bn2", BatchNorm<T>(channels: width)),
                ("relu2", ReLU<T>()),
                ("conv3", Conv2D<T>(width, output, kernelSize: 1, bias: false, generator: &g)),
                ("bn3", BatchNorm<T>(channels: output)),
            ]
        }
        var shortcut: Sequential<T>? = nil
        if stride != 1 || input != output {
            shortcut = Sequential<T>(named: [
                ("0", Conv2D<T>(input, output, kernelSize: 1, stride: stride, bias: false, generator: &g)),
                ("1", BatchNorm<T>(channels: output)),
            ])
        }
        return Residual<T>(named: body, shortcut: shortcut, shortcutName: "downsample", activation: .relu)
    }
}
