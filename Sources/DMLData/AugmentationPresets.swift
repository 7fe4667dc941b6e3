/// Ready-made pipelines.
extension AugmentationPipeline {
    /// The papers' training pipeline for 224-class CNN backbones: shorter side 256, a random
    /// 227×227 crop, a horizontal flip with probability ½, ImageNet normalization.
    public static let papersTrain = try! AugmentationPipeline(
        channels: 3, resize: .shorterSide(256), crop: .random(width: 227, height: 227),
        horizontalFlip: true, normalization: .imageNet)

    /// The papers' test pipeline: shorter side 256, the centred 227×227 crop, ImageNet normalization.
    public static let papersTest = try! AugmentationPipeline(
        channels: 3, resize: .shorterSide(256), crop: .center(width: 227, height: 227), normalization: .imageNet)

    /// Small images (Omniglot at 28×28 or 32×32): both sides resized to `size`, pixels scaled to
    /// [0, 1], no random part (characters are not mirror-symmetric, so no flip).
    public static func smallImages(size: Int, channels: Int = 1) throws -> AugmentationPipeline {
        try AugmentationPipeline(channels: channels, resize: .exact(width: size, height: size))
    }
}
