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

    /// The most parameters a configured network may have (2³⁰, 4 GiB of float32 weights, and as
    /// much again for gradients and optimizer moments): larger only comes from a typo.
    public static let maximumParameterCount = 1 << 30

    /// `make`, after checking that the configuration fits the input: `cnn` only on images, a
    /// parameter count (computed with overflow checks before anything is allocated) of at most
    /// `maximumParameterCount`, and a CNN shallow enough that its pooling never shrinks the
    /// image below 1×1. Every failure is a `TrainingError.invalidOption` naming the field.
    public static func makeChecked(_ configuration: ModelConfiguration, input shape: SampleShape, isImageData: Bool,
                                   seed: UInt64) throws -> Sequential<Float> {
        let useCNN = configuration.architecture == "cnn" || (configuration.architecture == "auto" && isImageData)
        guard shape.channels >= 1, shape.height >= 1, shape.width >= 1 else {
            throw TrainingError.invalidOption(name: "input shape", value: "\(shape)",
                                              expected: "at least one feature (channels, height and width ≥ 1)")
        }
        if configuration.architecture == "cnn" && !isImageData {
            throw TrainingError.invalidOption(name: "model.architecture", value: "cnn",
                                              expected: "mlp or auto for feature vectors (the data are \(shape.channels)-dimensional vectors, not images)")
        }
        guard let count = parameterCount(configuration, input: shape, convolutional: useCNN),
              count <= maximumParameterCount else {
            throw TrainingError.invalidOption(
                name: "model", value: "embeddingSize \(configuration.embeddingSize), hiddenSizes \(configuration.hiddenSizes), convolutionWidths \(configuration.convolutionWidths) on input \(shape)",
                expected: "a network of at most \(maximumParameterCount) parameters")
        }
        if useCNN {
            // 3×3 convolutions keep the size; each 2×2 pooling but the last block's halves it.
            let pools = configuration.convolutionWidths.count - 1
            let smallest = Swift.min(shape.height, shape.width)
            guard pools < Int.bitWidth - 2, smallest >> pools >= 1 else {
                throw TrainingError.invalidOption(
                    name: "model.convolutionWidths", value: "\(configuration.convolutionWidths)",
                    expected: "at most \(smallest.bitWidth - smallest.leadingZeroBitCount) blocks for \(shape.height)×\(shape.width) images (each block but the last halves the image), or a larger dataset.imageSize")
            }
        }
        let model = make(configuration, input: shape, isImageData: isImageData, seed: seed)
        do {
            _ = try model.outputShape(for: TensorShape(channels: shape.channels, height: shape.height, width: shape.width))
        } catch {
            throw TrainingError.invalidOption(name: "model", value: configuration.architecture, expected: "a network that fits input \(shape): \(error)")
        }
        return model
    }

    /// The number of learned parameters of the network `make` would build, or `nil` when it
    /// overflows `Int` (every product checked).
    static func parameterCount(_ c: ModelConfiguration, input shape: SampleShape, convolutional: Bool) -> Int? {
        var total = 0
        func add(_ factors: Int...) -> Bool {
            var product = 1
            for f in factors {
                let (p, o) = product.multipliedReportingOverflow(by: f)
                if o { return false }
                product = p
            }
            let (t, o) = total.addingReportingOverflow(product)
            total = t
            return !o
        }
        if convolutional {
            var channels = shape.channels
            for width in c.convolutionWidths {
                guard add(channels, width, 9), add(width, 4) else { return nil }  // kernel; BN scale, shift, mean, variance
                channels = width
            }
            guard add(channels, c.embeddingSize), add(c.embeddingSize) else { return nil }
        } else {
            let (area, o1) = shape.height.multipliedReportingOverflow(by: shape.width)
            let (inputs, o2) = area.multipliedReportingOverflow(by: shape.channels)
            if o1 || o2 { return nil }
            var width = inputs
            for hidden in c.hiddenSizes {
                guard add(width, hidden), add(hidden) else { return nil }
                width = hidden
            }
            guard add(width, c.embeddingSize), add(c.embeddingSize) else { return nil }
        }
        return total
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
