import ArgumentParser
import DMLRunDirectory
import Foundation
import DMLNumerics
import DMLTraining
import DMLBackbones
import DMLReport
import DMLDistributed

/// `dml train`: trains an embedding network and evaluates it on held-out classes.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an embedding network on the training classes and evaluate it on the held-out classes.",
        discussion: """
        With no arguments: Fashion-MNIST (Debian package dataset-fashion-mnist), classes 0-4 for \
        training and 5-9 for testing, the small CNN, lifted structured loss with hard negative pair \
        mining and Embedding Expansion. Settings come from the defaults, then --config FILE (JSON, \
        any subset of the keys of config.json), then the options below. The run directory gets \
        config.json, log.jsonl, checkpoints, metrics.json, the test embeddings and report.html.
        """
    )

    @Option(name: .long, help: "A JSON configuration file (any subset of the keys of a run's config.json).")
    var config: String?

    @Option(name: .long, help: "Dataset: fashion-mnist, mnist, omniglot, cub, cars, sop, folder or npy.")
    var dataset: String?

    @Option(name: .customLong("data-root"), help: "Where the dataset is (default: its usual place).")
    var dataRoot: String?

    @Option(name: .customLong("train-classes"), help: "Training classes for datasets without an official split, e.g. 0-4 or 1,3,5.")
    var trainClasses: String?

    @Option(name: .customLong("image-size"), help: "Side of the square network input (0: the dataset preset's; photos: 227).")
    var imageSize: Int?

    @Option(name: .long, help: "Shorter side photos are resized to before the crop (0: round(image-size · 256/227)).")
    var resize: Int?

    @OptionGroup var loss: LossOptions

    @Option(name: .long, help: "Network: small-cnn, mlp, efficientnet-lite0, resnet18, resnet50, googlenet, or auto (small-cnn for images, mlp for features).")
    var backbone: BackboneKind?

    @Option(name: .long, help: .hidden)
    var architecture: BackboneKind?

    @Option(name: .long, help: "ImageNet weights of the backbone: default (the installed file) or a .safetensors/.pth file.")
    var pretrained: String?

    @Flag(name: .customLong("freeze-bn"), help: "Freeze the backbone's batch-norm statistics (use and keep the running statistics).")
    var freezeBatchNorm = false

    @Option(name: .customLong("batch-norm"), help: "Batch-norm statistics under mpirun: sync (default; over the global batch, so N processes equal one) or local (each process's rows).")
    var batchNorm: BatchNormMode?

    @Option(name: .long, help: "Dropout before the embedding layer of an ImageNet backbone.")
    var dropout: Double?

    @Option(name: .customLong("freeze-through"), help: "Freeze the backbone's parameters up to this layer (e.g. layer2, _blocks.5) or all.")
    var freezeThrough: String?

    @Option(name: .customLong("embedding-size"), help: "Embedding dimension.")
    var embeddingSize: Int?

    @Option(name: .long, help: "Optimizer: adam, adamw or sgd.")
    var optimizer: OptimizerName?

    @Option(name: .customLong("lr"), help: "Base learning rate.")
    var learningRate: Double?

    @Option(name: .customLong("weight-decay"), help: "Weight decay.")
    var weightDecay: Double?

    @Option(name: .long, help: "Learning-rate schedule: constant, step or cosine.")
    var schedule: ScheduleName?

    @Option(name: .long, help: "Optimizer steps.")
    var iterations: Int?

    @Option(name: .customLong("classes-per-batch"), help: "C: classes per batch.")
    var classesPerBatch: Int?

    @Option(name: .customLong("samples-per-class"), help: "K: samples per class.")
    var samplesPerClass: Int?

    @Option(name: .long, help: "Cross-batch memory: a queue of the last N batch embeddings the loss uses as extra reference points (default 0: off).")
    var memory: Int?

    @Option(name: .customLong("memory-warmup"), help: "Iterations trained before the loss uses the memory (default 0).")
    var memoryWarmup: Int?

    @Option(name: .customLong("eval-every"), help: "Evaluate (and checkpoint) every N iterations.")
    var evalEvery: Int?

    @Option(name: .customLong("log-every"), help: "Log a step record every N iterations.")
    var logEvery: Int?

    @Option(name: .long, help: "Seed of initialization, sampling, augmentation and dropout.")
    var seed: UInt64?

    @Option(name: .long, help: "Compute threads (default: the machine's cores): the run's pool (layers, optimizer, evaluation); OpenBLAS runs single-threaded.")
    var threads: Int?

    @Option(name: .customLong("loader-threads"), help: "Background threads preparing batches (default 1), taken from the --threads budget: min(this, threads - 1); with --threads 1 batches load on the training thread.")
    var loaderThreads: Int?

    @Option(name: [.short, .long], help: "The run directory.")
    var output: String?

    @Flag(name: .long, help: "Continue the run in the output directory from its last checkpoint (settings not given come from the run).")
    var resume = false

    @Flag(name: .long, help: "Replace the run in the output directory (only its run files are removed, once the new run can start).")
    var overwrite = false

    @Flag(name: .customLong("stop-on-collapse"), help: "Stop with an error when the embeddings collapse (otherwise a warning in the progress line, the log and the report).")
    var stopOnCollapse = false

    @Flag(name: .long, help: "No progress display.")
    var quiet = false

    @Flag(name: .customLong("no-report"), help: "Do not write report.html at the end.")
    var noReport = false

    /// The configuration: defaults, then the file, then the options.
    /// With `--resume`, the run's own configuration (from its last checkpoint or
    /// `config.json`) replaces the defaults, so only what changes needs repeating.
    func resolvedConfiguration() throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        guard !(resume && overwrite) else {
            throw TrainingError.invalidOption(name: "--resume/--overwrite", value: "both", expected: "at most one of them")
        }
        if resume {
            var directory = output
            if directory == nil, let config { directory = try JSONConfiguration.read(TrainingConfiguration.self, from: config, over: c).output }
            let path = directory ?? c.output
            try RunFiles.validateOutput(path)
            if let saved = try Trainer.savedConfiguration(in: path) {
                c = saved
                c.output = path
            }
        }
        if let config { c = try JSONConfiguration.read(TrainingConfiguration.self, from: config, over: c) }
        if let dataset { c.dataset.name = dataset }
        if let dataRoot { c.dataset.root = dataRoot }
        if let trainClasses { c.dataset.trainClasses = trainClasses }
        if let imageSize { c.dataset.imageSize = imageSize }
        if let resize { c.dataset.resize = resize }
        try loss.apply(to: &c.loss)
        if let backbone = backbone ?? architecture { c.model.architecture = backbone }
        if let pretrained { c.model.pretrained = pretrained }
        if freezeBatchNorm { c.model.freezeBatchNorm = true }
        if let dropout { c.model.dropout = dropout }
        if let batchNorm { c.batchNorm = batchNorm }
        if let freezeThrough { c.model.freezeThrough = freezeThrough }
        if let embeddingSize { c.model.embeddingSize = embeddingSize }
        if let optimizer { c.optimizer.name = optimizer }
        if let learningRate { c.optimizer.learningRate = learningRate }
        if let weightDecay { c.optimizer.weightDecay = weightDecay }
        if let schedule { c.optimizer.schedule = schedule }
        if let iterations { c.iterations = iterations }
        if let classesPerBatch { c.classesPerBatch = classesPerBatch }
        if let samplesPerClass { c.samplesPerClass = samplesPerClass }
        if let memory { c.memory = memory }
        if let memoryWarmup { c.memoryWarmup = memoryWarmup }
        if let evalEvery { c.evalEvery = evalEvery }
        if let logEvery { c.logEvery = logEvery }
        if let seed { c.seed = seed }
        if let threads { c.threads = threads }
        if let loaderThreads { c.loaderThreads = loaderThreads }
        if let output { c.output = output }
        if stopOnCollapse { c.collapse.stop = true }
        try c.validate()
        return c
    }

    /// Runs the command; under an MPI launcher (`mpirun -np N dml train …`) every rank runs it,
    /// and an error on any rank ends the whole job (`MPI_Abort`) with its message, so no rank is
    /// left waiting in a collective.
    func run() throws {
        let communicator = try makeCommunicator()
        defer { MPICommunicator.finalize() }
        guard communicator.size > 1 else { return try train(communicator: communicator) }
        do {
            try train(communicator: communicator)
            try communicator.barrier()
        } catch {
            communicator.abort(code: 1, message: "dml train, rank \(communicator.rank) of \(communicator.size): \(error)")
        }
    }

    private func train(communicator: any Communicator) throws {
        let configuration = try resolvedConfiguration()
        let speaks = !quiet && communicator.isRoot
        // Fail before loading data when the directory cannot be used.
        if !resume && !overwrite {
            let existing = RunFiles(configuration.output).existingRunFiles()
            if !existing.isEmpty { throw RunDirectoryError.holdsAnotherRun(directory: configuration.output, files: existing) }
        }
        AllocatorTuning.keepLargeBlocksInTheHeap()
        if speaks { FileHandle.standardError.write(Data("loading \(configuration.dataset.name)…\n".utf8)) }
        let data = try configuration.loadDataset()
        if speaks {
            let processes = communicator.size > 1 ? " on \(communicator.size) processes" : ""
            FileHandle.standardError.write(Data("""
                \(configuration.dataset.name): \(data.train.count) training items of \(data.train.classCount) classes, \
                \(data.test.count) held-out items of \(data.test.classCount) classes
                training \(configuration.loss.kind.rawValue) (\(configuration.loss.modeDescription)) for \(configuration.iterations) iterations into \(configuration.output)\(processes)

                """.utf8))
        }
        let trainer = try Trainer(configuration: configuration, dataset: data,
                                  start: resume ? .resume : overwrite ? .overwrite : .fresh, communicator: communicator)
        let result = try trainer.run(progress: !quiet)
        guard communicator.isRoot else { return }
        var summary: [String: Any] = Trainer.metrics(of: result)
        if let baseline = trainer.baselineMetrics { summary["baseline"] = baseline }
        summary["run_directory"] = configuration.output
        if !noReport {
            let path = configuration.output + "/report.html"
            try RunReport.write(runDirectory: configuration.output, to: path)
            summary["report"] = path
        }
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: json, as: UTF8.self))
        if let report = summary["report"] as? String {
            let absolute = URL(fileURLWithPath: report).standardizedFileURL.path
            FileHandle.standardError.write(Data("Report: \(absolute)\n".utf8))
        }
    }
}
