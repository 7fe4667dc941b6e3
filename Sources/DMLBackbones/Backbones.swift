import DMLNumerics
import DMLNetworks
import DMLWeights

/// Building the ImageNet backbones by kind, loading their weights by name, and putting an
/// embedding head on them.
///
/// An embedding network is `Sequential(named:)`
///
///     backbone    the backbone (pooled features, PyTorch's names below this prefix)
///     dropout     optional Dropout(p)
///     embedding   Linear(features → d) — the name the trainer's 10× learning-rate group matches
///     l2          optional L2 normalization
///
/// so a parameter is `backbone.layer1.0.conv1.weight` or `embedding.weight`, and a weight file
/// of the architecture loads into the `backbone` child under its own names.
public enum Backbones {
    /// The full-size backbone of an ImageNet `kind` for `imageSize`-pixel square inputs (only
    /// EfficientNet-Lite's static "same" padding depends on it), weights from `seed`.
    public static func make<T: NetworkScalar>(_ kind: BackboneKind, imageSize: Int = 224, seed: UInt64,
                                              as _: T.Type = T.self) throws -> Sequential<T> {
        switch kind {
        case .efficientNetLite0: return EfficientNetLite.make(.lite0(imageSize: imageSize), seed: seed)
        case .resnet18: return ResNet.make(.resnet18, seed: seed)
        case .resnet50: return ResNet.make(.resnet50, seed: seed)
        case .googlenet: return GoogLeNet.make(seed: seed)
        case .auto, .smallCNN, .mlp:
            throw BackboneError.invalidOption(name: "backbone", reason: "\(kind.rawValue) is not an ImageNet architecture")
        }
    }

    /// The name prefixes of an architecture's weight files that the backbone does not have: the
    /// ImageNet classifier (`fc.` torchvision, `_fc.` EfficientNet) and GoogLeNet's auxiliary
    /// classifiers (`aux1.`, `aux2.`). `num_batches_tracked` counters are always skipped.
    public static func droppedPrefixes(_ kind: BackboneKind) -> [String] {
        switch kind {
        case .efficientNetLite0: return ["_fc."]
        case .googlenet: return ["fc.", "aux1.", "aux2."]
        default: return ["fc."]
        }
    }

    /// The classifier's name prefix in the architecture's weight files (`_fc` or `fc`).
    public static func classifierName(_ kind: BackboneKind) -> String {
        kind == .efficientNetLite0 ? "_fc" : "fc"
    }

    /// Reads the weight file at `path` (safetensors, PyTorch zip or legacy checkpoint).
    public static func readWeights(_ path: String) throws -> [String: StoredTensor] {
        try WeightFile.read(path: path).tensors
    }

    /// Loads `tensors` (from the file `source`) into `backbone` by name: every backbone
    /// parameter and buffer must be there with its shape, and nothing else may be but the
    /// dropped prefixes of `kind`. Otherwise one `WeightLoadingError` lists every missing,
    /// unexpected and mis-shaped tensor by name, and the backbone is unchanged.
    public static func load<T: NetworkScalar>(_ tensors: [String: StoredTensor], into backbone: Sequential<T>,
                                              kind: BackboneKind, source: String) throws {
        try backbone.loadWeights(tensors, options: WeightLoadingOptions(ignoredPrefixes: droppedPrefixes(kind)), source: source)
    }

    /// Reads the file at `path` and loads it into `backbone` (see `load(_:into:kind:source:)`).
    public static func load<T: NetworkScalar>(file path: String, into backbone: Sequential<T>, kind: BackboneKind) throws {
        try load(readWeights(path), into: backbone, kind: kind, source: path)
    }

    /// The ImageNet classifier of a weight file as a `Linear` layer (`_fc` / `fc`: weight
    /// `classes × features`, bias `classes`), for checking a pretrained backbone's accuracy.
    public static func classifier(_ tensors: [String: StoredTensor], kind: BackboneKind, source: String) throws -> Linear<Float> {
        let name = classifierName(kind)
        guard let w = tensors[name + ".weight"], let b = tensors[name + ".bias"] else {
            throw BackboneError.weights(file: source, reason: "no classifier \(name).weight / \(name).bias in the file")
        }
        guard w.shape.count == 2, b.shape == [w.shape[0]] else {
            throw BackboneError.weights(file: source, reason: "classifier \(name) has weight \(w.shape) and bias \(b.shape); expected [classes, features] and [classes]")
        }
        let weight = Matrix(rows: w.shape[0], columns: w.shape[1], elements: try w.floatValues())
        let bias = Matrix(rows: 1, columns: b.shape[0], elements: try b.floatValues())
        return Linear<Float>(weight: weight, bias: bias)
    }

    /// `backbone → (Dropout p) → Linear(features → embeddingDimension) named "embedding" → (L2)`;
    /// the embedding layer is Xavier-uniform initialized from `seed`, the dropout masks too.
    public static func embeddingNetwork<T: NetworkScalar>(
        backbone: any Layer<T>, featureDimension: Int, embeddingDimension: Int = 512, dropout: Double = 0,
        normalize: Bool = true, seed: UInt64, as _: T.Type = T.self
    ) -> Sequential<T> {
        var g = SeededGenerator(seed: seed ^ 0x656D_6265_6464_696E)  // "embeddin": independent of the backbone's stream
        let model = Sequential<T>(named: [("backbone", backbone)])
        if dropout > 0 { model.append(Dropout<T>(probability: dropout, seed: seed &+ 1), name: "dropout") }
        model.append(Linear<T>(featureDimension, embeddingDimension, initialization: .xavierUniform, generator: &g), name: "embedding")
        if normalize { model.append(L2Normalize<T>(), name: "l2") }
        return model
    }
}
