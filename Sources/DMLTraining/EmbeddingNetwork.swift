import DMLNumerics
import DMLNetworks
import DMLData

/// Builds the embedding network of a configuration for samples of a given shape, and embeds
/// whole splits with it.
public enum EmbeddingNetwork {
    /// The network for `configuration.model` and per-sample input `shape`, initialized from
    /// `seed`: the small CNN for images (`cnn`, or `auto` on image data) and the MLP otherwise.
    public static func make(_ configuration: ModelConfiguration, input shape: SampleShape, isImageData: Bool,
                            seed: UInt64) -> Sequential<Float> {
        let useCNN = configuration.architecture == "cnn" || (configuration.architecture == "auto" && isImageData)
        if useCNN {
            return ModelPresets.convolutional(
                input: TensorShape(channels: shape.channels, height: shape.height, width: shape.width),
                widths: configuration.convolutionWidths, embeddingDimension: configuration.embeddingSize,
                normalize: configuration.normalize, seed: seed, as: Float.self)
        }
        return ModelPresets.mlp(inputDimension: shape.count, hiddenDimensions: configuration.hiddenSizes,
                                embeddingDimension: configuration.embeddingSize, normalize: configuration.normalize,
                                seed: seed, as: Float.self)
    }

    /// The embeddings of every item of `split` (test-mode augmentation, inference mode), in
    /// item order, computed `batchSize` items at a time.
    public static func embed(_ split: any DatasetSplit, with model: Sequential<Float>, batchSize: Int = 256) throws -> Matrix<Float> {
        let shape = TensorShape(channels: split.sampleShape.channels, height: split.sampleShape.height,
                                width: split.sampleShape.width)
        var out: Matrix<Float>? = nil
        var start = 0
        while start < split.count {
            let indices = Array(start..<min(start + batchSize, split.count))
            let x = try split.batch(indices, mode: .test)
            let y = model.forward(Tensor(x, shape: shape), training: false).values
            if out == nil { out = Matrix(rows: split.count, columns: y.columns) }
            out!.withUnsafeMutableBufferPointer { dst in
                y.withUnsafeBufferPointer { src in
                    for k in 0..<src.count { dst[start * y.columns + k] = src[k] }
                }
            }
            start += batchSize
        }
        return out ?? Matrix(rows: 0, columns: 0)
    }
}
