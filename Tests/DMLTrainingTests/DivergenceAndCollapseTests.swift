import DMLRunDirectory
import Foundation
import Testing
import DMLNumerics
import DMLNetworks
import DMLData
import MetricLearning
@testable import DMLTraining

@Suite struct DivergenceGuardTests {
    @Test func finitenessScanFindsEveryKindOfBadValue() {
        let good: [Float] = [0, -0, 1, -3.4e38, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        #expect(good.withUnsafeBufferPointer { DivergenceGuard.allFinite($0) })
        for bad in [Float.nan, .infinity, -.infinity, -Float.nan] {
            for position in [0, 3, 5] {
                var values = good
                values[position] = bad
                #expect(!values.withUnsafeBufferPointer { DivergenceGuard.allFinite($0) }, "\(bad) at \(position)")
            }
        }
    }

    @Test func aHugeLearningRateStopsTheRunNamingIterationLayerAndCause() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("diverge")
        var c = smallConfiguration(directory)
        c.optimizer.learningRate = 1e9
        c.iterations = 30
        c.evalEvery = 2
        do {
            try Trainer(configuration: c, dataset: data).run(progress: false)
            Issue.record("a run at learning rate 1e9 finished")
        } catch let error as DivergenceError {
            let text = "\(error)"
            #expect(error.iteration >= 1 && error.iteration <= 30)
            #expect(text.contains("iteration \(error.iteration)"))
            #expect(error.location.contains("hidden1") || error.location.contains("embedding") || error.location.contains("bn")
                    || error.location == "loss", "\(error.location)")
            #expect(text.contains("learning rate 1e9 too large"), "\(text)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/metrics.json"))
        // Whatever was checkpointed before the divergence is finite and loads.
        for name in ["last", "best"] where FileManager.default.fileExists(atPath: directory + "/checkpoints/\(name).ckpt") {
            #expect(throws: Never.self) { _ = try Trainer.loadModel(checkpoint: directory + "/checkpoints/\(name).ckpt") }
        }
    }

    @Test func theCheckNamesTheParameterAndBuffer() throws {
        let data = try noisyClusterDataset()
        let trainer = try Trainer(configuration: smallConfiguration(temporaryDirectory("names")), dataset: data)
        let optimizer = trainer.configuration.optimizer
        #expect(throws: Never.self) { try DivergenceGuard.checkModel(trainer.model, iteration: 3, optimizer: optimizer) }
        trainer.model.visitParameters { name, value, _ in if name == "embedding.bias" { value[0, 1] = .infinity } }
        #expect(throws: DivergenceError(iteration: 3, location: "parameter embedding.bias", problem: "non-finite values (NaN or ±infinity)",
                                        cause: DivergenceGuard.likelyCause(optimizer))) {
            try DivergenceGuard.checkModel(trainer.model, iteration: 3, optimizer: optimizer)
        }
        trainer.model.visitParameters { name, _, gradient in if name == "hidden1.weight" { gradient[0, 0] = .nan } }
        do {
            try DivergenceGuard.checkModel(trainer.model, iteration: 3, optimizer: optimizer)
        } catch let error as DivergenceError {
            #expect(error.location == "gradient of hidden1.weight")   // the backward pass came before the step
        }
        var zero = Matrix<Float>(rows: 3, columns: 2, repeating: 1)
        zero[1, 0] = 0
        zero[1, 1] = 0
        #expect(throws: DivergenceError.self) { try DivergenceGuard.checkEmbeddings(zero, iteration: 1, optimizer: optimizer) }
        #expect(throws: DivergenceError.self) { try DivergenceGuard.checkLoss(.nan, iteration: 1, optimizer: optimizer) }
    }

    @Test func embedRefusesACheckpointWithNonFiniteWeights() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("nanckpt")
        var c = smallConfiguration(directory)
        c.iterations = 10
        c.evalEvery = 10
        try Trainer(configuration: c, dataset: data).run(progress: false)
        var state = try Checkpoint(contentsOf: directory + "/checkpoints/last.ckpt")
        state.tensors.tensors["model.hidden1.weight"]![0, 0] = .nan
        let bad = directory + "/bad.ckpt"
        try state.write(to: bad)
        do {
            _ = try Trainer.loadModel(checkpoint: bad)
            Issue.record("loaded a checkpoint with NaN weights")
        } catch {
            #expect("\(error)".contains("model.hidden1.weight") && "\(error)".contains("non-finite"), "\(error)")
        }
    }
}

@Suite struct CollapseDetectorTests {
    @Test func relativeSpreadHasKnownValues() {
        // Rows e_1..e_n: the mean is (1/n, …), every distance to it sqrt(1 − 1/n), every norm 1.
        let n = 5
        var x = Matrix<Float>(rows: n, columns: n)
        for i in 0..<n { x[i, i] = 1 }
        #expect(abs(CollapseDetector.relativeSpread(x) - (1 - 1 / Double(n)).squareRoot()) < 1e-7)
        let same = Matrix<Float>(rows: 4, columns: 3, repeating: 0.5)
        #expect(CollapseDetector.relativeSpread(same) == 0)
        // Scale does not matter.
        var scaled = x
        for i in 0..<n { scaled[i, i] = 1000 }
        #expect(abs(CollapseDetector.relativeSpread(scaled) - CollapseDetector.relativeSpread(x)) < 1e-9)
    }

    @Test func collapseValueOfTheLosses() throws {
        var rng = SeededGenerator(seed: 2)
        let x: Matrix<Float> = rng.normalMatrix(rows: 8, columns: 4)
        let labels = [0, 0, 1, 1, 2, 2, 3, 3]
        var triplet = LossConfiguration(kind: .triplet, mining: .hnpm, synthesis: .ee)
        triplet.triplet.margin = 0.3
        #expect(abs(CollapseDetector.collapseLoss(triplet, embeddings: x, labels: labels) - 0.3) < 1e-6)
        let contrastive = LossConfiguration(kind: .contrastive, mining: .plain, synthesis: .none)
        #expect(abs(CollapseDetector.collapseLoss(contrastive, embeddings: x, labels: labels) - 1) < 1e-6)   // [m − 0]² with m = 1
    }

    @Test func theRuleOnWindowSequences() {
        var settings = CollapseSettings()
        settings.patience = 60
        func feed(_ spreads: [Double], losses: [Double]? = nil) -> (CollapseDetector, [CollapseRecord]) {
            var d = CollapseDetector()
            d.noteInitialSpread(0.5)
            var found = [CollapseRecord]()
            for (w, s) in spreads.enumerated() {
                if let r = d.observeWindow(firstIteration: 20 * w + 1, lastIteration: 20 * w + 20, meanSpread: s,
                                           meanLoss: losses?[w] ?? 1.0, collapseLoss: 0.2, settings: settings) { found.append(r) }
            }
            return (d, found)
        }
        // Healthy: the spread grows and the loss is away from its collapse value.
        #expect(feed([0.5, 0.7, 0.9, 0.95, 0.9, 0.92]).1.isEmpty)
        // Spread below a tenth of the start for three windows in a row (60 iterations): one record, from the first of them.
        let (_, collapsed) = feed([0.5, 0.3, 0.04, 0.01, 0.3, 0.02, 0.01, 0.01, 0.01, 0.01])
        #expect(collapsed == [CollapseRecord(iteration: 160, began: 101, criterion: "spread", spread: 0.01, initialSpread: 0.5,
                                             loss: 1.0, collapseLoss: 0.2)])
        // Loss pinned at its collapse value while the spread has halved.
        let pinned = feed([0.3, 0.2, 0.2, 0.2], losses: [0.25, 0.2001, 0.1999, 0.2]).1
        #expect(pinned.map(\.criterion) == ["loss"] && pinned.first?.began == 21)
        // Loss at the collapse value but the embeddings still spread out: not a collapse.
        #expect(feed([0.5, 0.5, 0.5, 0.5, 0.5], losses: [0.2, 0.2, 0.2, 0.2, 0.2]).1.isEmpty)
        settings.enabled = false
        #expect(feed([0.01, 0.01, 0.01, 0.01, 0.01]).1.isEmpty)
    }
}

/// Pure noise with arbitrary labels: no embedding separates the classes, so hard negative
/// mining with the triplet loss does best by mapping everything to one point (the loss is then
/// the margin). A cheap, deterministic collapse. Classes 0..<40 train, 40..<60 are held out.
func noiseDataset(seed: UInt64 = 5) throws -> Dataset {
    var rng = SeededGenerator(seed: seed)
    let classes = 60, perClass = 20, d = 32
    let features: Matrix<Float> = rng.normalMatrix(rows: classes * perClass, columns: d)
    let labels = (0..<(classes * perClass)).map { $0 / perClass }
    func split(_ range: Range<Int>) throws -> TensorSplit {
        let rows = labels.indices.filter { range.contains(labels[$0]) }
        return try TensorSplit(features: features.gatheringRows(rows), labels: rows.map { labels[$0] - range.lowerBound },
                               classes: range.map { DatasetClass(originalID: $0, name: "c\($0)") },
                               sampleShape: SampleShape(channels: d, height: 1, width: 1), isImageData: false, source: "noise")
    }
    return Dataset(name: "noise", train: try split(0..<40), test: try split(40..<60))
}

@Suite struct CollapseRunTests {
    func configuration(_ directory: String, iterations: Int) -> TrainingConfiguration {
        var c = smallConfiguration(directory)
        c.loss = LossConfiguration(kind: .triplet, mining: .hnpm, synthesis: .none)
        c.model.hiddenSizes = [64]
        c.model.embeddingSize = 16
        c.classesPerBatch = 16
        c.samplesPerClass = 2
        c.optimizer.learningRate = 1e-3
        c.iterations = iterations
        c.evalEvery = 100
        c.logEvery = 20
        return c
    }

    func collapses(_ directory: String) throws -> [CollapseRecord] {
        try RunLog.read(from: directory + "/log.jsonl").compactMap { if case .collapse(let c) = $0 { c } else { nil } }
    }

    @Test func aCollapsingRunIsReportedAndAHealthyOneIsNot() throws {
        let collapsing = temporaryDirectory("collapse")
        try Trainer(configuration: configuration(collapsing, iterations: 400), dataset: noiseDataset()).run(progress: false)
        let found = try collapses(collapsing)
        #expect(found.count == 1)
        if let c = found.first {
            #expect(c.criterion == "spread" && c.spread < 0.1 * c.initialSpread)
            #expect(c.began < c.iteration && c.iteration - c.began + 1 >= 100)
            #expect(abs(c.collapseLoss - 0.2) < 1e-6)   // the triplet margin
        }
        // The same network and loss on data with structure learns and does not collapse.
        let healthy = temporaryDirectory("healthy")
        try Trainer(configuration: configuration(healthy, iterations: 400), dataset: noisyClusterDataset()).run(progress: false)
        #expect(try collapses(healthy).isEmpty)
    }

    @Test func stopOnCollapseStopsTheRunAndResumeKeepsTheDetectorState() throws {
        let data = try noiseDataset()
        let whole = temporaryDirectory("collapse-whole")
        var c = configuration(whole, iterations: 400)
        c.collapse.stop = true
        do {
            try Trainer(configuration: c, dataset: data).run(progress: false)
            Issue.record("a collapsing run with collapse.stop finished")
        } catch let error as CollapseError {
            #expect("\(error)".contains("collapsed (since iteration \(error.record.began))"))
        }
        #expect(!FileManager.default.fileExists(atPath: whole + "/metrics.json"))
        let detected = try collapses(whole)
        #expect(detected.count == 1)
        // Interrupted at a checkpoint inside the collapsed stretch, then resumed: the same record.
        let split = temporaryDirectory("collapse-split")
        c.output = split
        c.collapse.stop = false
        #expect(throws: Trainer.SimulatedInterruption.self) {
            try Trainer(configuration: c, dataset: data).run(progress: false, interruptAfterCheckpoint: 200)
        }
        try Trainer(configuration: c, dataset: data, start: .resume).run(progress: false)
        #expect(try collapses(split) == detected)
    }
}
