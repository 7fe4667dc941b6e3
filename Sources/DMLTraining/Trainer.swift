import Foundation
import DMLNumerics
import DMLNetworks
import DMLData
import DMLEvaluation
import MetricLearning
import DMLDistributed
import DMLRunDirectory

/// Trains an embedding network on the training classes of a dataset and evaluates it on the
/// held-out classes, writing the run directory of docs/RUN_DIRECTORY.md.
///
/// One iteration: draw a C×K batch (`ClassBalancedSampler`), augment and forward it, evaluate
/// the configured loss (value and exact gradient with respect to the embeddings), backward
/// through the network, and take one optimizer step at the scheduled learning rate. Before the
/// first iteration (the untrained baseline) and every `evalEvery` iterations the held-out
/// classes are embedded and scored (Recall@K, MAP@R,
/// R-precision, NMI, F1); the `last` checkpoint is written then, and `best` when Recall@1
/// improved. Everything random comes from the seed, so a run resumed from its `last`
/// checkpoint reaches the same numbers as an uninterrupted one.
///
/// ```swift
/// var configuration = TrainingConfiguration()   // Fashion-MNIST classes 0–4, small CNN, lifted + HNPM + EE
/// configuration.iterations = 200
/// configuration.seed = 3
/// configuration.output = "runs/example"
/// let dataset = try configuration.dataset.load()
/// let trainer = try Trainer(configuration: configuration, dataset: dataset)
/// let final = try trainer.run(progress: false)  // also writes runs/example (docs/RUN_DIRECTORY.md)
/// print(final.recall(at: 1) ?? 0)
/// ```
public final class Trainer {
    /// The run's configuration.
    public let configuration: TrainingConfiguration
    /// The training and held-out splits.
    public let dataset: Dataset
    /// The network being trained.
    public let model: Sequential<Float>
    private var optimizer: any Optimizer<Float>
    private var sampler: ClassBalancedSampler
    private var log: RunLog
    private var iteration = 0
    private var bestMetric = -Double.infinity
    private var bestIteration = 0
    private let inputShape: TensorShape
    private var lastEvaluation: EvaluationResult?
    /// The pending logging window (kept in checkpoints so a resumed window covers the same steps).
    private var window = TrainingWindow()
    private var collapse = CollapseDetector()
    /// The cross-batch memory (`configuration.memory > 0`), created at the first enqueue.
    private var memory: CrossBatchMemory<Float>?
    private var lock: RunDirectoryLock?
    /// Set when the directory's old run files are to be replaced once the run can start.
    private var replacesOldRun = false
    private var resumed = false
    /// The run's compute threads (`configuration.threads`), created once: the layers, the
    /// optimizer and the held-out evaluation split their work over it.
    public let pool: ThreadPool
    /// The processes training this run together (one, or the ranks of an MPI job); rank 0
    /// writes every file of the run directory.
    public let communicator: any Communicator
    /// The data-parallel step over `communicator` (the identity with one process).
    private let parallel: DataParallelStep

    /// Where the run's files go.
    public var directory: String { configuration.output }
    /// The run directory's files.
    private var files: RunFiles { RunFiles(directory) }
    private var lastCheckpointPath: String { files.file(RunFiles.lastCheckpoint) }
    private var bestCheckpointPath: String { files.file(RunFiles.bestCheckpoint) }

    /// A trainer for `configuration` on `dataset`. With `resume`, the state of the run
    /// directory's last checkpoint is restored (and its configuration must match).
    public convenience init(configuration: TrainingConfiguration, dataset: Dataset, resume: Bool) throws {
        try self.init(configuration: configuration, dataset: dataset, start: resume ? .resume : .fresh)
    }

    /// A trainer for `configuration` on `dataset`, taking the run directory's lock (held until
    /// `run()` returns or the trainer is released).
    ///
    /// `start` says what to do with a directory that already holds a run: `.fresh` refuses it,
    /// `.overwrite` replaces its run files once the new run can start, `.resume` restores the
    /// state of its `last` checkpoint (the configurations must match except `output`,
    /// `iterations` — which may not fall below the iterations done — and `collapse.stop`), or
    /// starts from iteration 0 when it has no checkpoint yet.
    ///
    /// With a `communicator` of several ranks (`mpirun -np N dml train`), every rank builds the
    /// same trainer: the configurations must be identical (checked), the global batch
    /// `classesPerBatch × samplesPerClass` divisible by `N`, and the run directory visible to
    /// every rank at the same path (one machine, or a shared file system); only rank 0 takes the
    /// lock and writes files. See `DataParallelStep` and docs/distributed.md.
    public convenience init(configuration: TrainingConfiguration, dataset: Dataset, start: RunStart = .fresh,
                            communicator: any Communicator = SingleProcessCommunicator()) throws {
        try self.init(configuration: configuration, dataset: dataset, start: start, communicator: communicator,
                      buildBackbone: EmbeddingNetwork.fullSizeBackbone)
    }

    /// The trainer above with an ImageNet backbone made by `buildBackbone` (tests: reduced-width
    /// copies that the small PyTorch fixtures fit; a checkpoint of such a run does not load in
    /// `dml embed`, which builds the full-size network).
    init(configuration: TrainingConfiguration, dataset: Dataset, start: RunStart, communicator: any Communicator,
         buildBackbone: BackboneBuilder) throws {
        try configuration.validate()
        self.configuration = configuration
        self.dataset = dataset
        self.communicator = communicator
        parallel = try DataParallelStep(communicator: communicator,
                                        globalBatch: configuration.classesPerBatch * configuration.samplesPerClass,
                                        batchNorm: configuration.batchNorm)
        if communicator.size > 1 {
            try communicator.requireIdentical([UInt8](try JSONConfiguration.encode(configuration)), what: "the training configuration")
        }
        let shape = dataset.train.sampleShape
        inputShape = TensorShape(channels: shape.channels, height: shape.height, width: shape.width)
        // On resume the checkpoint supplies every weight; the pretrained file is not read.
        let restoresCheckpoint = start == .resume
            && FileManager.default.fileExists(atPath: RunFiles(configuration.output).file(RunFiles.lastCheckpoint))
        model = try EmbeddingNetwork.makeChecked(configuration.model, input: shape, isImageData: dataset.train.isImageData,
                                                 seed: configuration.seed, loadPretrained: !restoresCheckpoint,
                                                 buildBackbone: buildBackbone)
        pool = ThreadPool(threads: configuration.threads)
        model.use(pool: pool)
        parallel.attach(to: model)
        optimizer = Trainer.makeOptimizer(configuration.optimizer, pool: pool)
        sampler = try ClassBalancedSampler(labels: dataset.train.labels, classesPerBatch: configuration.classesPerBatch,
                                           samplesPerClass: configuration.samplesPerClass, seed: configuration.seed)
        log = RunLog(path: RunFiles(configuration.output).file(RunFiles.log))
        let runDirectory = RunFiles(configuration.output)
        if communicator.isRoot {
            lock = try RunDirectoryLock(directory: configuration.output)
            runDirectory.removeStaleTemporaries()
        }
        let existing = runDirectory.existingRunFiles()
        switch start {
        case .fresh:
            guard existing.isEmpty else {
                throw RunDirectoryError.holdsAnotherRun(directory: configuration.output, files: existing)
            }
        case .overwrite:
            replacesOldRun = !existing.isEmpty
        case .resume:
            if FileManager.default.fileExists(atPath: lastCheckpointPath) {
                try restore()
            } else {
                // Nothing was checkpointed: the run starts again, if it is the same run.
                let configPath = files.file(RunFiles.configuration)
                if FileManager.default.fileExists(atPath: configPath) {
                    let saved = try JSONConfiguration.read(TrainingConfiguration.self, from: configPath, over: TrainingConfiguration())
                    try Trainer.checkSameRun(saved, configuration, source: configPath)
                }
                replacesOldRun = !existing.isEmpty
            }
        }
    }

    /// Throws unless `saved` and `current` describe the same run: equal except for `output`
    /// (where the directory is), `iterations` and `collapse.stop`.
    static func checkSameRun(_ saved: TrainingConfiguration, _ current: TrainingConfiguration, source: String) throws {
        var expected = saved
        expected.output = current.output
        expected.iterations = current.iterations
        expected.collapse.stop = current.collapse.stop
        // Thread counts are a property of the machine, not of the run: a run may resume with others.
        expected.threads = current.threads
        expected.loaderThreads = current.loaderThreads
        expected.processes = current.processes
        guard expected == current else {
            let a = (try? JSONSerialization.jsonObject(with: JSONConfiguration.encode(expected))) as? [String: Any] ?? [:]
            let b = (try? JSONSerialization.jsonObject(with: JSONConfiguration.encode(current))) as? [String: Any] ?? [:]
            let differing = a.keys.sorted().filter { key in
                guard let x = a[key], let y = b[key] else { return true }
                func text(_ v: Any) -> Data? { try? JSONSerialization.data(withJSONObject: ["v": v], options: [.sortedKeys]) }
                return text(x) != text(y)
            }
            throw TrainingError.invalidCheckpoint(file: source,
                                                  reason: "the run was made with another configuration (differs in \(differing.joined(separator: ", "))); only --iterations and the thread counts may change on resume; use --overwrite to start a new run there")
        }
    }

    /// The optimizer of a configuration; the embedding layer gets its learning-rate multiplier.
    static func makeOptimizer(_ c: OptimizerConfiguration, pool: ThreadPool? = nil) -> any Optimizer<Float> {
        let groups = [ParameterGroup(namePrefix: "embedding", learningRateMultiplier: c.embeddingLearningRateMultiplier)]
        switch c.name {
        case .sgd:
            return SGD<Float>(learningRate: c.learningRate, momentum: c.momentum, weightDecay: .coupled(c.weightDecay),
                              groups: groups, pool: pool)
        case .adamw:
            return Adam<Float>(learningRate: c.learningRate, weightDecay: .decoupled(c.weightDecay), groups: groups, pool: pool)
        case .adam:
            return Adam<Float>(learningRate: c.learningRate, weightDecay: .coupled(c.weightDecay), groups: groups, pool: pool)
        }
    }

    /// The learning rate of iteration `t` (0-based) under the configured schedule.
    func learningRate(at t: Int) -> Double {
        let c = configuration.optimizer
        let schedule: LearningRateSchedule
        switch c.schedule {
        case .step: schedule = .step(every: c.stepEvery, factor: c.stepFactor)
        case .cosine: schedule = .cosine(totalSteps: configuration.iterations, minimumFactor: c.cosineMinimumFactor)
        case .constant: schedule = .constant
        }
        return schedule.learningRate(base: c.learningRate, step: t)
    }

    // MARK: Running

    /// Trains to `configuration.iterations`, evaluating and checkpointing on the way, then
    /// writes the final embeddings and metrics. Returns the final evaluation.
    ///
    /// `config.json` is written only once the run can start (after the iteration-0
    /// evaluation, or the restore of a resumed run); a directory being overwritten loses its
    /// old run files at that moment, not before. Every step passes the `DivergenceGuard`
    /// (a `DivergenceError` stops the run before anything of that step is checkpointed), and
    /// the `CollapseDetector` watches each logging window.
    ///
    /// Threads: the layers' loops, the optimizer and the evaluation run on `pool`
    /// (`configuration.threads`), and OpenBLAS is single-threaded for the whole run: the pool
    /// owns the threads, and a network's GEMMs are too small for OpenBLAS's threads to pay (two
    /// of them made a step slower than one, see docs/networks.md). The OpenBLAS setting is scoped
    /// to this call (`BLASThreads.with`): the previous value is restored when it returns.
    @discardableResult
    public func run(progress: Bool = true) throws -> EvaluationResult {
        try run(progress: progress, interruptAfterCheckpoint: nil)
    }

    /// Stands for a kill in tests: `run` throws `SimulatedInterruption` right after writing the
    /// checkpoints of iteration `interruptAfterCheckpoint`.
    struct SimulatedInterruption: Error {}

    @discardableResult
    func run(progress: Bool, interruptAfterCheckpoint: Int?) throws -> EvaluationResult {
        try BLASThreads.with(1) { try runScoped(progress: progress, interruptAfterCheckpoint: interruptAfterCheckpoint) }
    }

    private func runScoped(progress: Bool, interruptAfterCheckpoint: Int?) throws -> EvaluationResult {
        if communicator.isRoot && lock?.isHeld != true { lock = try RunDirectoryLock(directory: directory) }
        defer { lock?.release() }
        var bar = ProgressBar(total: configuration.iterations, enabled: progress && communicator.isRoot)
        if iteration > 0 { bar.message("resuming at iteration \(iteration) from \(lastCheckpointPath)") }
        if let detected = collapse.detected { bar.warning = "collapsed since it \(detected.began)" }
        let start = Date()
        let firstIteration = iteration
        var windowStart = Date()
        var windowImages = 0
        parallel.times.reset()
        let batchSize = configuration.classesPerBatch * configuration.samplesPerClass
        // The raw inputs' score is the reference every embedding must beat; the untrained
        // network's is where the curves start from.
        if iteration == 0 {
            log.append(.start(processes: communicator.size))
            if configuration.evaluation.rawInputBaseline {
                let raw = try evaluateRawInputs()
                bar.message("raw inputs (baseline): " + Trainer.summary(raw))
            }
            let baseline = try evaluateHeldOut(elapsed: 0, flush: false)
            bar.message("iteration 0 (untrained): " + Trainer.summary(baseline))
        }
        // The run can start: replace the old run's files, then write this run's configuration.
        if replacesOldRun && communicator.isRoot {
            try RunFiles(directory).removeRun()
            replacesOldRun = false
        }
        if resumed && iteration < configuration.iterations && communicator.isRoot {
            // A finished run being extended is unfinished again until its new metrics.json.
            for name in [RunFiles.metrics, RunFiles.report] { try? FileManager.default.removeItem(atPath: files.file(name)) }
        }
        if communicator.isRoot {
            try AtomicFile.createDirectory(files.file("checkpoints"))
            var recorded = configuration
            recorded.processes = communicator.size
            try files.writeConfiguration(recorded)
        }
        try flushLog()
        // Background threads prepare the coming batches from a copy of the sampler; the
        // trainer's own sampler advances in step with them, so checkpoints hold its exact state.
        let loaderThreads = configuration.effectiveLoaderThreads
        let loader = loaderThreads > 0 && iteration < configuration.iterations
            ? BatchLoader(split: dataset.train, mode: .train, seed: configuration.seed, indices: sampler,
                          workers: loaderThreads, prefetch: 4, firstIteration: iteration, rows: parallel.rows)
            : nil
        defer { loader?.stop() }
        while iteration < configuration.iterations {
            let t = iteration
            let indices = sampler.nextBatch()
            let x: Matrix<Float>
            if let loader {
                guard let loaded = try loader.next() else {
                    throw TrainingError.internalInconsistency(component: "batch loader", reason: "it stopped before iteration \(t + 1)")
                }
                guard loaded.iteration == t, loaded.indices == indices else {
                    throw TrainingError.internalInconsistency(
                        component: "batch loader",
                        reason: "it delivered the batch of iteration \(loaded.iteration + 1) where the sampler drew that of iteration \(t + 1)")
                }
                x = loaded.samples
            } else {
                // This rank's rows, each augmented as at its position in the whole batch.
                let rows = parallel.rows
                x = try dataset.train.batch(Array(indices[rows]), mode: .train, seed: configuration.seed, iteration: t,
                                            firstPosition: rows.lowerBound)
            }
            let labels = dataset.train.labels(of: indices)
            let outcome = try step(x, labels: labels, learningRate: learningRate(at: t), iteration: t + 1)
            iteration += 1
            windowImages += batchSize
            window.losses.append(outcome.loss)
            window.spreads.append(outcome.spread)
            if let fraction = outcome.syntheticFraction { window.fractions.append(fraction) }
            let elapsed = Date().timeIntervalSince(start)
            if iteration % configuration.logEvery == 0 || iteration == configuration.iterations {
                let seconds = Date().timeIntervalSince(windowStart)
                let throughput = Double(windowImages) / max(seconds, 1e-9)
                let meanLoss = window.losses.reduce(0, +) / Double(window.losses.count)
                let meanFraction = window.fractions.isEmpty ? nil : window.fractions.reduce(0, +) / Double(window.fractions.count)
                let meanSpread = window.spreads.reduce(0, +) / Double(window.spreads.count)
                log.append(.step(TrainingStepRecord(
                    iteration: iteration, epoch: Double(iteration * batchSize) / Double(dataset.train.count),
                    loss: meanLoss, syntheticFraction: meanFraction, learningRate: learningRate(at: t),
                    imagesPerSecond: throughput, elapsedSeconds: elapsed,
                    embeddingSpread: configuration.collapse.enabled ? meanSpread : nil,
                    collectives: parallel.isDistributed ? CollectiveStepSeconds(parallel.times, steps: window.losses.count) : nil)))
                let collapseValue = configuration.collapse.enabled
                    ? CollapseDetector.collapseLoss(configuration.loss, embeddings: outcome.embeddings, labels: labels) : .nan
                let detected = collapse.observeWindow(firstIteration: iteration - window.losses.count + 1, lastIteration: iteration,
                                                      meanSpread: meanSpread, meanLoss: meanLoss, collapseLoss: collapseValue,
                                                      settings: configuration.collapse)
                if let detected {
                    log.append(.collapse(detected))
                    bar.warning = "collapsed since it \(detected.began)"
                    bar.message("warning at iteration \(iteration): " + CollapseDetector.explanation(detected))
                }
                bar.update(iteration: iteration, loss: meanLoss, syntheticFraction: meanFraction,
                           imagesPerSecond: throughput, elapsed: elapsed, iterationsThisSession: iteration - firstIteration)
                window = TrainingWindow()
                windowStart = Date()
                windowImages = 0
                parallel.times.reset()
                try flushLog()
                if let detected, configuration.collapse.stop { throw CollapseError(record: detected) }
            }
            if iteration % configuration.evalEvery == 0 || iteration == configuration.iterations {
                let result = try evaluateHeldOut(elapsed: Date().timeIntervalSince(start))
                bar.message("iteration \(iteration): " + Trainer.summary(result))
                try saveCheckpoints(recallAt1: result.recall(at: configuration.evaluation.recallKs.first ?? 1) ?? 0)
                if iteration == interruptAfterCheckpoint { throw SimulatedInterruption() }
                windowStart = Date()
            }
        }
        // A finished run resumed: its final evaluation is in the log already; recompute it
        // (deterministically) without logging it a second time.
        let alreadyLogged = log.records.contains { if case .evaluation(let i, _, _) = $0 { i == iteration } else { false } }
        let final = try lastEvaluation ?? evaluateHeldOut(elapsed: Date().timeIntervalSince(start), record: !alreadyLogged)
        try writeFinalOutputs(final)
        return final
    }

    /// What one optimizer step gives back.
    struct StepOutcome {
        /// The batch loss.
        var loss: Double
        /// The synthetic fraction, nil without synthesis.
        var syntheticFraction: Double?
        /// `CollapseDetector.relativeSpread` of the batch embeddings.
        var spread: Double
        /// The batch embeddings (network output).
        var embeddings: Matrix<Float>
    }

    /// One optimizer step on batch `x` (iteration `iteration`, 1-based), guarded by the
    /// `DivergenceGuard`; returns the loss, the synthetic fraction and the embeddings' spread.
    ///
    /// `x` holds this rank's rows of the batch (all of it with one process) and `labels` the
    /// labels of the whole batch: the embeddings are gathered, so the loss, the mining, the
    /// synthesis and every check below see the global batch, identically on every rank.
    func step(_ x: Matrix<Float>, labels: [Int], learningRate: Double, iteration: Int) throws -> StepOutcome {
        let input = Tensor(x, shape: inputShape)
        let local = model.forward(input, training: true)
        try parallel.checkBatchNormCollectives()
        let embeddings = Tensor(try parallel.gatherEmbeddings(local.values), shape: local.shape)
        do {
            try DivergenceGuard.checkEmbeddings(embeddings.values, iteration: iteration, optimizer: configuration.optimizer)
        } catch var error as DivergenceError {
            // Layer by layer on this rank's rows alone: ranks may stop at different layers, so
            // batch norm must not wait for the others there.
            model.synchronizeBatchNorm(with: nil)
            let diagnosis = DivergenceGuard.diagnose(model, input: input)
            parallel.attach(to: model)
            if !diagnosis.isEmpty { error.detail = diagnosis }
            throw error
        }
        let memoryPoints = iteration > configuration.memoryWarmup ? memory?.points : nil
        // Symm's α/β schedule and the negative class draw depend on the iteration (0-based here).
        let loss = configuration.loss.scheduled(iteration: iteration - 1, of: configuration.iterations, seed: configuration.seed)
        // The loss's work over the memory runs on the run's pool (same thread count, same numbers).
        let output: LossOutput<Float> = try loss.evaluate(embeddings.values, labels: labels, memory: memoryPoints, pool: pool)
        try DivergenceGuard.checkLoss(Double(output.value), iteration: iteration, optimizer: configuration.optimizer)
        model.zeroGradients()
        _ = model.backward(Tensor(parallel.localRows(of: output.gradient), shape: embeddings.shape))
        try parallel.checkBatchNormCollectives()
        try parallel.allReduceGradients(of: model)
        try parallel.averageBuffers(of: model)
        optimizer.learningRate = learningRate
        optimizer.step(model)
        try DivergenceGuard.checkModel(model, iteration: iteration, optimizer: configuration.optimizer)
        try enqueueInMemory(embeddings.values, labels: labels)
        let spread = configuration.collapse.enabled ? CollapseDetector.relativeSpread(embeddings.values) : 0
        collapse.noteInitialSpread(spread)
        return StepOutcome(loss: Double(output.value), syntheticFraction: output.syntheticFraction, spread: spread,
                           embeddings: embeddings.values)
    }

    // MARK: Evaluation and outputs

    /// Writes `log.jsonl` (rank 0 only; the other ranks keep the same records in memory).
    private func flushLog() throws {
        if communicator.isRoot { try log.flush() }
    }

    /// The held-out embeddings: each rank embeds its shard of the split (`Communicator.shard`)
    /// and the shards are gathered in rank order, so every rank holds the whole matrix.
    private func embedHeldOut() throws -> Matrix<Float> {
        guard communicator.size > 1 else { return try EmbeddingNetwork.embed(dataset.test, with: model) }
        let shard = communicator.shard(ofCount: dataset.test.count)
        let local = try EmbeddingNetwork.embed(dataset.test, with: model, items: shard)
        let dimension = try model.outputShape(for: inputShape).count
        let all = try communicator.allGatherVariable(local.elements)
        return Matrix(rows: dataset.test.count, columns: dimension, elements: all)
    }

    /// Embeds the held-out split and scores it; logs an `eval` record (unless `record` is
    /// false) and writes the log (unless `flush` is false).
    func evaluateHeldOut(elapsed: Double, record: Bool = true, flush: Bool = true) throws -> EvaluationResult {
        let embeddings = try embedHeldOut()
        let settings = configuration.evaluation
        var options = EvaluationOptions(metric: settings.metric, recallKs: settings.recallKs,
                                        clustering: settings.clustering)
        options.seed = configuration.seed
        let result = try evaluate(embeddings: embeddings, labels: dataset.test.labels, options: options, pool: pool)
        if record { log.append(.evaluation(iteration: iteration, metrics: Trainer.metrics(of: result), elapsedSeconds: elapsed)) }
        if flush { try flushLog() }
        lastEvaluation = result
        return result
    }

    /// Scores the held-out split's raw inputs (`RawInputBaseline`); logs a `baseline` record.
    func evaluateRawInputs() throws -> EvaluationResult {
        let start = Date()
        let result = try RawInputBaseline.evaluate(dataset.test, settings: configuration.evaluation, seed: configuration.seed)
        // Flushed with the iteration-0 evaluation, once the run can start.
        log.append(.baseline(metrics: Trainer.metrics(of: result), elapsedSeconds: Date().timeIntervalSince(start)))
        return result
    }

    /// The raw-input metrics of this run's log (kept across `--resume`), nil when not computed.
    public var baselineMetrics: [String: Double]? {
        for record in log.records { if case .baseline(let metrics, _) = record { return metrics } }
        return nil
    }

    /// The numeric metrics of an evaluation as they appear in `log.jsonl` and `metrics.json`
    /// (`recall@K`, `map@r`, `r_precision`, `nmi`, `f1`: `EvaluationResult.metricValues`).
    public static func metrics(of result: EvaluationResult) -> [String: Double] {
        result.metricValues
    }

    /// `R@1 0.612  R@2 …  MAP@R 0.301  NMI 0.55  F1 0.28`.
    public static func summary(_ result: EvaluationResult) -> String {
        var parts = result.retrieval.recallAtK.sorted { $0.k < $1.k }.map { "R@\($0.k) \(String(format: "%.3f", $0.value))" }
        let m = result.metricValues
        for (key, name) in [(MetricKey.mapAtR, "MAP@R"), (MetricKey.nmi, "NMI"), (MetricKey.f1, "F1")] {
            if let v = m[key] { parts.append("\(name) \(String(format: "%.3f", v))") }
        }
        return parts.joined(separator: "  ")
    }

    /// Writes the test embeddings, labels, thumbnails and class names, then `metrics.json` — last, because
    /// its presence marks the run as finished.
    func writeFinalOutputs(_ result: EvaluationResult) throws {
        let embeddings = try embedHeldOut()
        guard communicator.isRoot else { return }
        try files.writeTestEmbeddings(embeddings, labels: dataset.test.labels, thumbnails: try dataset.test.thumbnails(size: 32),
                                      classes: dataset.test.classes.map { ($0.originalID, $0.name) })
        try files.writeMetrics(RunMetrics(metrics: Trainer.metrics(of: result), iteration: iteration, baseline: baselineMetrics))
    }

    // MARK: Checkpoints

    private func checkpoint() -> Checkpoint {
        var archive = model.exportState(prefix: "model.")
        optimizer.exportState(into: &archive, prefix: "optimizer.")
        let shape = dataset.train.sampleShape
        var metadata = CheckpointMetadata(
            iteration: iteration, sampler: sampler, bestMetric: bestMetric, bestIteration: bestIteration,
            configuration: configuration, inputShape: [shape.channels, shape.height, shape.width])
        metadata.window = window
        metadata.collapse = collapse
        if let memory {
            archive.tensors["memory.embeddings"] = memory.embeddings
            (metadata.memoryCapacity, metadata.memoryLabels, metadata.memoryHead) = (memory.capacity, memory.labels, memory.head)
        }
        return Checkpoint(metadata: metadata, tensors: archive)
    }

    /// Appends a step's embeddings and labels to the cross-batch memory (none when
    /// `configuration.memory` is 0), creating the queue at the first call.
    private func enqueueInMemory(_ embeddings: Matrix<Float>, labels: [Int]) throws {
        guard configuration.memory > 0 else { return }
        if memory == nil { memory = try CrossBatchMemory(capacity: configuration.memory, dimension: embeddings.columns) }
        try memory!.enqueue(embeddings, labels: labels)
    }

    /// The cross-batch memory saved in a checkpoint: nil when it holds none (an older
    /// checkpoint, or a run without memory); `source` names the file in errors.
    static func restoredMemory(_ state: Checkpoint, source: String) throws -> CrossBatchMemory<Float>? {
        let m = state.metadata
        guard let capacity = m.memoryCapacity else { return nil }
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(file: source, reason: reason) }
        guard capacity == m.configuration.memory else {
            throw fail("the memory holds \(capacity) embeddings, the configuration's memory is \(m.configuration.memory)")
        }
        guard let labels = m.memoryLabels, let head = m.memoryHead, let embeddings = state.tensors.tensors["memory.embeddings"] else {
            throw fail("memoryCapacity without memoryLabels, memoryHead and the tensor memory.embeddings")
        }
        guard embeddings.rows == labels.count else {
            throw fail("tensor memory.embeddings has \(embeddings.rows) rows, memoryLabels \(labels.count) labels")
        }
        guard embeddings.columns == m.configuration.model.embeddingSize else {
            throw fail("tensor memory.embeddings has \(embeddings.columns) columns, the embedding size is \(m.configuration.model.embeddingSize)")
        }
        do {
            return try CrossBatchMemory(capacity: capacity, embeddings: embeddings, labels: labels, head: head)
        } catch {
            throw fail("invalid memory: \(error)")
        }
    }

    /// Writes `best` (when Recall@1 improved) and then `last`. In this order a kill at any
    /// instant leaves them consistent: `last` never names a best iteration whose `best` file
    /// is not on disk, and a resume from the older `last` rewrites the same `best`.
    private func saveCheckpoints(recallAt1: Double) throws {
        guard communicator.isRoot else {
            // Every rank keeps the same best-so-far, so a rank that becomes the writer agrees.
            if recallAt1 > bestMetric { (bestMetric, bestIteration) = (recallAt1, iteration) }
            return
        }
        if recallAt1 > bestMetric {
            bestMetric = recallAt1
            bestIteration = iteration
        }
        let state = checkpoint()
        if let bad = DivergenceGuard.firstNonFinite(state.tensors) {
            throw DivergenceError(iteration: iteration, location: "checkpoint tensor \(bad)", problem: "non-finite values (NaN or ±infinity)",
                                  cause: DivergenceGuard.likelyCause(configuration.optimizer))
        }
        if bestIteration == iteration { try state.write(to: bestCheckpointPath) }
        try state.write(to: lastCheckpointPath)
    }

    private func restore() throws {
        let state = try Checkpoint(contentsOf: lastCheckpointPath)
        try Trainer.checkSameRun(state.metadata.configuration, configuration, source: lastCheckpointPath)
        guard configuration.iterations >= state.metadata.iteration else {
            throw RunDirectoryError.shrinking(directory: directory, done: state.metadata.iteration, requested: configuration.iterations)
        }
        if let bad = DivergenceGuard.firstNonFinite(state.tensors) {
            throw TrainingError.invalidCheckpoint(file: lastCheckpointPath, reason: "tensor \(bad) holds non-finite values (NaN or ±infinity); the run diverged before this checkpoint")
        }
        guard state.metadata.sampler.drawsFromSameItems(as: sampler) else {
            throw TrainingError.invalidCheckpoint(file: lastCheckpointPath,
                                                  reason: "the checkpoint's batch sampler draws from other classes or samples than this training split")
        }
        try model.importState(state.tensors.entries(withPrefix: "model."))
        try optimizer.importState(from: state.tensors, prefix: "optimizer.", model: model)
        sampler = state.metadata.sampler
        iteration = state.metadata.iteration
        bestMetric = state.metadata.bestMetric
        bestIteration = state.metadata.bestIteration
        window = state.metadata.window ?? TrainingWindow()
        collapse = state.metadata.collapse ?? CollapseDetector()
        memory = try Trainer.restoredMemory(state, source: lastCheckpointPath)
        log = try RunLog.resuming(path: log.path, upTo: iteration)
        resumed = true
    }

    /// The configuration of the run in `directory`, for `--resume`: that of its `last`
    /// checkpoint, else its `config.json`, else nil (nothing to resume).
    public static func savedConfiguration(in directory: String) throws -> TrainingConfiguration? {
        let checkpoint = RunFiles(directory).file(RunFiles.lastCheckpoint)
        if FileManager.default.fileExists(atPath: checkpoint) {
            return try Checkpoint(contentsOf: checkpoint).metadata.configuration
        }
        let config = RunFiles(directory).file(RunFiles.configuration)
        if FileManager.default.fileExists(atPath: config) {
            return try JSONConfiguration.read(TrainingConfiguration.self, from: config, over: TrainingConfiguration())
        }
        return nil
    }

    /// Loads the model of a checkpoint file (for `dml embed`), with the per-sample input shape
    /// it was built for and whether that input is an image.
    public static func loadModel(checkpoint path: String) throws
        -> (model: Sequential<Float>, configuration: TrainingConfiguration, inputShape: SampleShape, isImageData: Bool) {
        let state = try Checkpoint(contentsOf: path)
        let c = state.metadata.configuration
        let s = state.metadata.inputShape
        let shape = SampleShape(channels: s[0], height: s[1], width: s[2])
        let isImage = s[1] > 1 || s[2] > 1
        if let bad = DivergenceGuard.firstNonFinite(state.tensors.entries(withPrefix: "model.")) {
            throw TrainingError.invalidCheckpoint(file: path, reason: "tensor model.\(bad) holds non-finite values (NaN or ±infinity): the run diverged; this model cannot embed anything")
        }
        let model: Sequential<Float>
        do {
            model = try EmbeddingNetwork.makeChecked(c.model, input: shape, isImageData: isImage, seed: c.seed, loadPretrained: false)
            try model.importState(state.tensors.entries(withPrefix: "model."))
        } catch {
            throw TrainingError.invalidCheckpoint(file: path, reason: "\(error)")
        }
        return (model, c, shape, isImage)
    }
}

/// The steps of the logging window in progress: their losses, synthetic fractions and
/// embedding spreads, in order (a `step` record is their mean).
public struct TrainingWindow: Codable, Sendable, Equatable {
    /// Batch losses.
    public var losses: [Double] = []
    /// Synthetic fractions (empty without synthesis).
    public var fractions: [Double] = []
    /// `CollapseDetector.relativeSpread` of the batch embeddings.
    public var spreads: [Double] = []

    /// An empty window.
    public init() {}
}
