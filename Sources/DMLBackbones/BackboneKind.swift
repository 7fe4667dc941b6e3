import DMLData

/// The networks an embedding can be computed with: the two small networks trained from scratch
/// and the four ImageNet architectures of the papers, with PyTorch's parameter names.
///
/// Encoded by its raw value (`"resnet18"`, …). The names of older configurations decode too:
/// `cnn` is `small-cnn`.
public enum BackboneKind: String, CaseIterable, Sendable, Codable {
    /// The small CNN for images, the MLP for feature vectors (the default).
    case auto
    /// `ModelPresets.convolutional`: Conv-BN-ReLU-MaxPool blocks for small images.
    case smallCNN = "small-cnn"
    /// `ModelPresets.mlp`: for feature vectors (`.npy` features, flattened pixels).
    case mlp
    /// EfficientNet-Lite0 with the names of PyPI `efficientnet-lite-pytorch` (`_conv_stem`, `_blocks.N._depthwise_conv`, …).
    case efficientNetLite0 = "efficientnet-lite0"
    /// ResNet-18 with torchvision's names (`conv1`, `layer1.0.conv1`, …).
    case resnet18
    /// ResNet-50 (v1.5, stride in the 3×3 convolution) with torchvision's names.
    case resnet50
    /// GoogLeNet (Inception v1 with batch normalization) with torchvision's names.
    case googlenet

    /// Older spellings accepted when decoding and on the command line.
    public static let aliases: [String: BackboneKind] = ["cnn": .smallCNN, "efficientnet_lite0": .efficientNetLite0,
                                                         "resnet-18": .resnet18, "resnet-50": .resnet50, "inception-v1": .googlenet]

    /// The kind named `name` (a raw value or an alias), or nil.
    public init?(name: String) {
        let key = name.lowercased()
        guard let kind = BackboneKind(rawValue: key) ?? BackboneKind.aliases[key] else { return nil }
        self = kind
    }

    /// Decodes a raw value or an alias; anything else is an error listing the names.
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let kind = BackboneKind(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "unknown backbone '\(name)'; expected one of \(BackboneKind.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        self = kind
    }

    /// Whether this is one of the ImageNet architectures (whose pretrained weights can be loaded).
    public var isImageNetArchitecture: Bool {
        switch self {
        case .auto, .smallCNN, .mlp: return false
        case .efficientNetLite0, .resnet18, .resnet50, .googlenet: return true
        }
    }

    /// The normalization the network's input is expected in, on pixels scaled to [0, 1]:
    /// `(v − mean) / std`.
    ///
    /// - EfficientNet-Lite: `(x − 127) / 128` on 0–255 pixels, i.e. mean 127/255, std 128/255.
    /// - ResNet: ImageNet mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225) (torchvision).
    /// - GoogLeNet: `(v − 0.5) / 0.5`, what torchvision's pretrained GoogLeNet sees after its
    ///   `transform_input` step (the ported weights expect [−1, 1] inputs); the Swift network has
    ///   no such step and is fed these values directly.
    /// - The small networks: ImageNet statistics for photos, as before.
    public var inputNormalization: Normalization {
        switch self {
        case .efficientNetLite0: return Normalization(mean: [127 / 255], std: [128 / 255])
        case .googlenet: return Normalization(mean: [0.5], std: [0.5])
        case .auto, .smallCNN, .mlp, .resnet18, .resnet50: return .imageNet
        }
    }

    /// The dimension of the pooled features (what `dml features` writes), nil for the small networks.
    public var featureDimension: Int? {
        switch self {
        case .efficientNetLite0: return 1280
        case .resnet18: return 512
        case .resnet50: return 2048
        case .googlenet: return 1024
        case .auto, .smallCNN, .mlp: return nil
        }
    }
}
