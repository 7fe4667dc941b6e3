import Foundation
import DMLNumerics
import DMLNetworks
import DMLData
import DMLEvaluation
import MetricLearning

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

    /// Where the run's files go.
    public var directory: String { configuration.output }
    private var lastCheckpointPath: String { directory + "/checkpoints/last.ckpt" }
    private var bestCheckpointPath: String { directory + "/checkpoints/best.ckpt" }

    /// A trainer for `configuration` on `dataset`. With `resume`, the state of the run
    /// directory's last checkpoint is restored (and its configuration must match).
    public init(configuration: TrainingConfiguration, dataset: Dataset, resume: Bool = false) throws {
        try configuration.validate()
        self.configuration = configuration
        self.dataset = dataset
        let shape = dataset.train.sampleShape
        inputShape = TensorShape(channels: shape.channels, height: shape.height, width: shape.width)
        // On resume the checkpoint supplies every weight; the pretrained file is not read.
        model = try EmbeddingNetwork.makeChecked(configuration.model, input: shape, isImageData: dataset.train.isImageData,
                                                 seed: configuration.seed, loadPretrained: !resume)
        optimizer = Trainer.makeOptimizer(configuration.optimizer)
        sampler = try ClassBalancedSampler(labels: dataset.train.labels, classesPerBatch: configuration.classesPerBatch,
                                           samplesPerClass: configuration.samplesPerClass, seed: configuration.seed)
        log = RunLog(path: configuration.output + "/log.jsonl")
        if resume { try restore() }
    }

    /// The optimizer of a configuration; the embedding layer gets its learning-rate multiplier.
    static func makeOptimizer(_ c: OptimizerConfiguration) -> any Optimizer<Float> {
        let groups = [ParameterGroup(namePrefix: "embedding", learningRateMultiplier: c.embeddingLearningRateMultiplier)]
        switch c.name {
        case .sgd:
            return SGD<Float>(learningRate: c.learningRate, momentum: c.momentum, weightDecay: .coupled(c.weightDecay), groups: groups)
        case .adamw:
            return Adam<Float>(learningRate: c.learningRate, weightDecay: .decoupled(c.weightDecay), groups: groups)
        case .adam:
            return Adam<Float>(learningRate: c.learningRate, weightDecay: .coupled(c.weightDecay), groups: groups)
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
    @discardableResult
    public func run(progress: Bool = true) throws -> EvaluationResult {
        BLASThreads.set(configuration.threads)
        try AtomicFile.createDirectory(directory + "/checkpoints")
        try AtomicFile.write(JSONConfiguration.encode(configuration), to: directory + "/config.json")
        var bar = ProgressBar(total: configuration.iterations, enabled: progress)
        if iteration > 0 { bar.message("resuming at iteration \(iteration) from \(lastCheckpointPath)") }
        let start = Date()
        let firstIteration = iteration
        var windowStart = Date()
        var windowImages = 0
        var losses = [Double](), fractions = [Double]()
        let batchSize = configuration.classesPerBatch * configuration.samplesPerClass
        // The untrained network's score is the baseline the curves start from.
        if iteration == 0 {
            let baseline = try evaluateHeldOut(elapsed: 0)
            bar.message("iteration 0 (untrained): " + Trainer.summary(baseline))
        }
        // Background threads prepare the coming batches from a copy of the sampler; the
        // trainer's own sampler advances in step with them, so checkpoints hold its exact state.
        let loader = configuration.loaderThreads > 0
            ? BatchLoader(split: dataset.train, mode: .train, seed: configuration.seed, indices: sampler,
                          workers: configuration.loaderThreads, prefetch: 4, firstIteration: iteration)
            : nil
        defer { loader?.stop() }
        while iteration < configuration.iterations {
            let t = iteration
            let indices = sampler.nextBatch()
            let x: Matrix<Float>
            if let loader {
                guard let loaded = try loader.next(), loaded.iteration == t, loaded.indices == indices else {
                    throw TrainingError.invalidOption(name: "loader", value: "batch \(t)", expected: "the sampler's batch")
                }
                x = loaded.samples
            } else {
                x = try dataset.train.batch(indices, mode: .train, seed: configuration.seed, iteration: t)
            }
            let labels = dataset.train.labels(of: indices)
            let (loss, fraction) = try step(x, labels: labels, learningRate: learningRate(at: t))
            iteration += 1
            windowImages += batchSize
            losses.append(loss)
            if let fraction { fractions.append(fraction) }
            guard loss.isFinite else { throw TrainingError.divergence(iteration: iteration) }
            let elapsed = Date().timeIntervalSince(start)
            if iteration % configuration.logEvery == 0 || iteration == configuration.iterations {
                let window = Date().timeIntervalSince(windowStart)
                let throughput = Double(windowImages) / max(window, 1e-9)
                let meanLoss = losses.reduce(0, +) / Double(losses.count)
                let meanFraction = fractions.isEmpty ? nil : fractions.reduce(0, +) / Double(fractions.count)
                log.append(.step(TrainingStepRecord(
                    iteration: iteration, epoch: Double(iteration * batchSize) / Double(dataset.train.count),
                    loss: meanLoss, syntheticFraction: meanFraction, learningRate: learningRate(at: t),
                    imagesPerSecond: throughput, elapsedSeconds: elapsed)))
                bar.update(iteration: iteration, loss: meanLoss, syntheticFraction: meanFraction,
                           imagesPerSecond: throughput, elapsed: elapsed, iterationsThisSession: iteration - firstIteration)
                losses.removeAll(keepingCapacity: true)
                fractions.removeAll(keepingCapacity: true)
                windowStart = Date()
                windowImages = 0
                try log.flush()
            }
            if iteration % configuration.evalEvery == 0 || iteration == configuration.iterations {
                let result = try evaluateHeldOut(elapsed: Date().timeIntervalSince(start))
                bar.message("iteration \(iteration): " + Trainer.summary(result))
                try saveCheckpoints(recallAt1: result.recall(at: configuration.evaluation.recallKs.first ?? 1) ?? 0)
                windowStart = Date()
            }
        }
        let final = try lastEvaluation ?? evaluateHeldOut(elapsed: Date().timeIntervalSince(start))
        try writeFinalOutputs(final)
        return final
    }

    /// One optimizer step on batch `x`; returns the loss and the synthetic fraction.
    func step(_ x: Matrix<Float>, labels: [Int], learningRate: Double) throws -> (Double, Double?) {
        let embeddings = model.forward(Tensor(x, shape: inputShape), training: true)
        let output: LossOutput<Float> = try configuration.loss.evaluate(embeddings.values, labels: labels)
        model.zeroGradients()
        _ = model.backward(Tensor(output.gradient, shape: embeddings.shape))
        optimizer.learningRate = learningRate
        optimizer.step(model)
        return (Double(output.value), output.syntheticFraction)
    }

    // MARK: Evaluation and outputs

    /// Embeds the held-out split and scores it; logs an `eval` record.
    func evaluateHeldOut(elapsed: Double) throws -> EvaluationResult {
        let embeddings = try EmbeddingNetwork.embed(dataset.test, with: model)
        let settings = configuration.evaluation
        var options = EvaluationOptions(metric: settings.metric, recallKs: settings.recallKs,
                                        clustering: settings.clustering)
        options.seed = configuration.seed
        let result = try evaluate(embeddings: embeddings, labels: dataset.test.labels, options: options)
        log.append(.evaluation(iteration: iteration, metrics: Trainer.metrics(of: result), elapsedSeconds: elapsed))
        try log.flush()
        lastEvaluation = result
        return result
    }

    /// The numeric metrics of an evaluation as they appear in `log.jsonl` and `metrics.json`
    /// (`recall@K`, `map@r`, `r_precision`, `nmi`, `f1`).
    public static func metrics(of result: EvaluationResult) -> [String: Double] {
        guard let data = try? JSONEncoder().encode(result),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        let keys = Set(["map@r", "r_precision", "nmi", "f1"])
        var out = [String: Double]()
        for (k, v) in object where k.hasPrefix("recall@") || keys.contains(k) {
            if let n = v as? NSNumber { out[k] = n.doubleValue }
        }
        return out
    }

    /// `R@1 0.612  R@2 …  MAP@R 0.301  NMI 0.55  F1 0.28`.
    public static func summary(_ result: EvaluationResult) -> String {
        let m = metrics(of: result)
        let recalls = m.keys.filter { $0.hasPrefix("recall@") }
            .sorted { Int($0.dropFirst(7)) ?? 0 < Int($1.dropFirst(7)) ?? 0 }
            .map { "R@\($0.dropFirst(7)) \(String(format: "%.3f", m[$0]!))" }
        var parts = recalls
        for (key, name) in [("map@r", "MAP@R"), ("nmi", "NMI"), ("f1", "F1")] {
            if let v = m[key] { parts.append("\(name) \(String(format: "%.3f", v))") }
        }
        return parts.joined(separator: "  ")
    }

    /// Writes the test embeddings, labels and thumbnails, then `metrics.json` — last, because
    /// its presence marks the run as finished.
    func writeFinalOutputs(_ result: EvaluationResult) throws {
        let embeddings = try EmbeddingNetwork.embed(dataset.test, with: model)
        try NPYArray(embeddings).write(to: directory + "/embeddings/test_embeddings.npy")
        try NPYArray(labels: dataset.test.labels).write(to: directory + "/embeddings/test_labels.npy")
        if let thumbnails = try dataset.test.thumbnails(size: 32) {
            try thumbnails.write(to: directory + "/embeddings/test_thumbnails.npy")
        }
        var metrics: [String: Any] = Trainer.metrics(of: result)
        metrics["iteration"] = iteration
        try AtomicFile.write(JSONSerialization.data(withJSONObject: metrics, options: [.prettyPrinted, .sortedKeys]),
                             to: directory + "/metrics.json")
    }

    // MARK: Checkpoints

    private func checkpoint() -> Checkpoint {
        var archive = model.exportState(prefix: "model.")
        optimizer.exportState(into: &archive, prefix: "optimizer.")
        let shape = dataset.train.sampleShape
        return Checkpoint(metadata: CheckpointMetadata(
            iteration: iteration, sampler: sampler, bestMetric: bestMetric, bestIteration: bestIteration,
            configuration: configuration, inputShape: [shape.channels, shape.height, shape.width]), tensors: archive)
    }

    private func saveCheckpoints(recallAt1: Double) throws {
        if recallAt1 > bestMetric {
            bestMetric = recallAt1
            bestIteration = iteration
        }
        let state = checkpoint()
        try state.write(to: lastCheckpointPath)
        if bestIteration == iteration { try state.write(to: bestCheckpointPath) }
    }

    private func restore() throws {
        guard FileManager.default.fileExists(atPath: lastCheckpointPath) else {
            throw TrainingError.invalidCheckpoint(file: lastCheckpointPath, reason: "no checkpoint to resume from")
        }
        let state = try Checkpoint(contentsOf: lastCheckpointPath)
        var expected = state.metadata.configuration
        expected.iterations = configuration.iterations
        guard expected == configuration else {
            throw TrainingError.invalidCheckpoint(file: lastCheckpointPath,
                                                  reason: "the checkpoint was made with another configuration (only the iteration count may change on resume)")
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
        log = try RunLog.resuming(path: log.path, upTo: iteration)
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
