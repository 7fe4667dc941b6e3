import DMLNumerics
import DMLNetworks
import DMLData
import DMLBackbones

/// Builds the randomly initialized backbone of an ImageNet architecture for square images of a
/// given side, from a seed (`EmbeddingNetwork.fullSizeBackbone`: the real architecture).
public typealias BackboneBuilder = (_ kind: BackboneKind, _ imageSize: Int, _ seed: UInt64) throws -> Sequential<Float>

/// Builds the embedding network of a configuration for samples of a given shape, and embeds
/// whole splits with it.
public enum EmbeddingNetwork {
    /// The full-size backbone of `kind` (`Backbones.make`).
    public static func fullSizeBackbone(_ kind: BackboneKind, imageSize: Int, seed: UInt64) throws -> Sequential<Float> {
        try Backbones.make(kind, imageSize: imageSize, seed: seed)
    }

    /// The network for `configuration.model` and per-sample input `shape`, initialized from
    /// `seed`:
    /// - `small-cnn` (or `auto` on image data): `ModelPresets.convolutional`;
    /// - `mlp` (or `auto` on feature data): `ModelPresets.mlp`;
    /// - an ImageNet backbone: `Backbones.embeddingNetwork` — the backbone built for the input's
    ///   height under `backbone.`, optional dropout, `embedding` (the 10× learning-rate layer),
    ///   optional `l2`. With `loadPretrained`, the backbone's weights come from
    ///   `configuration.pretrained` (`default` or a file); `freezeBatchNorm` freezes its
    ///   batch-norm statistics, `freezeThrough` its parameters up to a layer (or `all`).
    ///   `buildBackbone` makes the backbone before any weights are loaded (the full-size one;
    ///   tests pass reduced-width copies that the small PyTorch fixtures fit); the embedding
    ///   layer takes the width of its pooled output.
    public static func make(_ configuration: ModelConfiguration, input shape: SampleShape, isImageData: Bool,
                            seed: UInt64, loadPretrained: Bool = true,
                            buildBackbone: BackboneBuilder = fullSizeBackbone) throws -> Sequential<Float> {
        let kind = configuration.architecture
        switch kind {
        case .auto, .smallCNN, .mlp:
            if kind == .smallCNN || (kind == .auto && isImageData) {
                return ModelPresets.convolutional(
                    input: TensorShape(channels: shape.channels, height: shape.height, width: shape.width),
                    widths: configuration.convolutionWidths, embeddingDimension: configuration.embeddingSize,
                    normalize: configuration.normalize, seed: seed, as: Float.self)
            }
            return ModelPresets.mlp(inputDimension: shape.count, hiddenDimensions: configuration.hiddenSizes,
                                    embeddingDimension: configuration.embeddingSize, normalize: configuration.normalize,
                                    seed: seed, as: Float.self)
        case .efficientNetLite0, .resnet18, .resnet50, .googlenet:
            let backbone = try backbone(kind, input: shape, isImageData: isImageData, seed: seed,
                                        pretrained: loadPretrained ? configuration.pretrained : "", build: buildBackbone)
            if configuration.freezeBatchNorm { backbone.freezeBatchNormStatistics() }
            if configuration.freezeThrough == "all" {
                backbone.isFrozen = true
            } else if !configuration.freezeThrough.isEmpty {
                do { try backbone.freeze(through: configuration.freezeThrough) } catch {
                    throw TrainingError.invalidOption(name: "model.freezeThrough", value: configuration.freezeThrough,
                                                      expected: "a layer of the \(kind.rawValue) backbone or all (\(error))")
                }
            }
            let features = try backbone.outputShape(for: TensorShape(channels: shape.channels, height: shape.height, width: shape.width)).count
            let model = Backbones.embeddingNetwork(backbone: backbone, featureDimension: features,
                                                   embeddingDimension: configuration.embeddingSize,
                                                   dropout: configuration.dropout, normalize: configuration.normalize,
                                                   seed: seed, as: Float.self)
            model.computesInputGradient = false
            return model
        }
    }

    /// The ImageNet backbone `kind` for RGB images of `shape`, weights from `pretrained` (empty:
    /// random from `seed`; `default`: the installed file; otherwise a weight file), built by
    /// `build` before the weights are loaded.
    public static func backbone(_ kind: BackboneKind, input shape: SampleShape, isImageData: Bool, seed: UInt64,
                                pretrained: String, build: BackboneBuilder = fullSizeBackbone) throws -> Sequential<Float> {
        guard isImageData, shape.channels == 3, shape.height == shape.width, shape.height >= 32 else {
            throw TrainingError.invalidOption(name: "model.architecture", value: kind.rawValue,
                                              expected: "square RGB images of at least 32 pixels for an ImageNet backbone (got \(shape)); use small-cnn or mlp for this data")
        }
        let backbone = try build(kind, shape.height, seed)
        if !pretrained.isEmpty {
            let file = pretrained == "default" ? try PretrainedWeights.defaultFile(for: kind) : pretrained
            try Backbones.load(file: file, into: backbone, kind: kind)
        }
        return backbone
    }

    /// The most parameters a configured network may have (2³⁰, 4 GiB of float32 weights, and as
    /// much again for gradients and optimizer moments): larger only comes from a typo.
    public static let maximumParameterCount = 1 << 30

    /// `make`, after checking that the configuration fits the input: `small-cnn` only on images, a
    /// parameter count (computed with overflow checks before anything is allocated) of at most
    /// `maximumParameterCount`, and a CNN shallow enough that its pooling never shrinks the
    /// image below 1×1; an ImageNet backbone only on square RGB images of at least 32 pixels.
    /// Every failure is a `TrainingError.invalidOption` naming the field.
    public static func makeChecked(_ configuration: ModelConfiguration, input shape: SampleShape, isImageData: Bool,
                                   seed: UInt64, loadPretrained: Bool = true,
                                   buildBackbone: BackboneBuilder = fullSizeBackbone) throws -> Sequential<Float> {
        let kind = configuration.architecture
        guard shape.channels >= 1, shape.height >= 1, shape.width >= 1 else {
            throw TrainingError.invalidOption(name: "input shape", value: "\(shape)",
                                              expected: "at least one feature (channels, height and width ≥ 1)")
        }
        if !kind.isImageNetArchitecture {
            let useCNN = kind == .smallCNN || (kind == .auto && isImageData)
            if kind == .smallCNN && !isImageData {
                throw TrainingError.invalidOption(name: "model.architecture", value: kind.rawValue,
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
        }
        let model = try make(configuration, input: shape, isImageData: isImageData, seed: seed, loadPretrained: loadPretrained,
                             buildBackbone: buildBackbone)
        do {
            _ = try model.outputShape(for: TensorShape(channels: shape.channels, height: shape.height, width: shape.width))
        } catch {
            throw TrainingError.invalidOption(name: "model", value: kind.rawValue, expected: "a network that fits input \(shape): \(error)")
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

    /// The embeddings of the items `items` of `split` (every item by default; test-mode
    /// augmentation, inference mode), in item order, computed `batchSize` items at a time.
    public static func embed(_ split: any DatasetSplit, with model: any Layer<Float>, batchSize: Int = 256,
                             items: Range<Int>? = nil) throws -> Matrix<Float> {
        let shape = TensorShape(channels: split.sampleShape.channels, height: split.sampleShape.height,
                                width: split.sampleShape.width)
        let range = items ?? 0..<split.count
        guard range.lowerBound >= 0, range.upperBound <= split.count else {
            throw TrainingError.invalidOption(name: "items", value: "\(range)", expected: "a range inside 0..<\(split.count)")
        }
        var out: Matrix<Float>? = nil
        var start = range.lowerBound
        while start < range.upperBound {
            let indices = Array(start..<min(start + batchSize, range.upperBound))
            let x = try split.batch(indices, mode: .test)
            let y = model.forward(Tensor(x, shape: shape), training: false).values
            if out == nil { out = Matrix(rows: range.count, columns: y.columns) }
            let offset = (start - range.lowerBound) * y.columns
            out!.withUnsafeMutableBufferPointer { dst in
                y.withUnsafeBufferPointer { src in
                    for k in 0..<src.count { dst[offset + k] = src[k] }
                }
            }
            start += batchSize
        }
        if out == nil, range.isEmpty, let dimension = try? model.outputShape(for: shape).count {
            return Matrix(rows: 0, columns: dimension)
        }
        return out ?? Matrix(rows: 0, columns: 0)
    }
}
