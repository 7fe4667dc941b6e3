import DMLRunDirectory
import Foundation
import Testing
import DMLNumerics
import DMLNetworks
import MetricLearning
@testable import DMLTraining

/// Training with the cross-batch memory (`TrainingConfiguration.memory`): the warm-up rule,
/// the queue in the checkpoint, bit-exact resume, and older checkpoints without the keys.
@Suite struct TrainerMemoryTests {
    /// The small run of `smallConfiguration` (6 × 4 = 24 embeddings a batch of dimension 8) with
    /// HNPM + EE lifted loss, a step record every iteration, and a 40-embedding memory (it wraps
    /// around at the second enqueue) used from iteration `warmup`.
    func configuration(_ directory: String, iterations: Int, memory: Int = 40, warmup: Int = 5) -> TrainingConfiguration {
        var c = smallConfiguration(directory)
        c.loss = LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .ee)
        c.iterations = iterations
        c.evalEvery = 10
        c.logEvery = 1
        c.memory = memory
        c.memoryWarmup = warmup
        return c
    }

    func stepLosses(_ directory: String) throws -> [Double] {
        try RunLog.read(from: directory + "/log.jsonl").compactMap { r -> Double? in if case .step(let s) = r { s.loss } else { nil } }
    }

    @Test func memoryChangesTrainingOnlyAfterTheWarmup() throws {
        let data = try noisyClusterDataset()
        let off = temporaryDirectory("memory-off")
        let on = temporaryDirectory("memory-on")
        try Trainer(configuration: configuration(off, iterations: 12, memory: 0, warmup: 0), dataset: data).run(progress: false)
        try Trainer(configuration: configuration(on, iterations: 12, memory: 40, warmup: 6), dataset: data).run(progress: false)
        let a = try stepLosses(off), b = try stepLosses(on)
        #expect(a.count == 12 && b.count == 12)
        // Iterations 0..<6 (logged as 1...6) use no memory: the same numbers bit for bit.
        #expect(Array(a.prefix(6)) == Array(b.prefix(6)))
        // From iteration 6 on the loss sees the queue's 40 points as extra reference points.
        for k in 6..<12 { #expect(a[k] != b[k], "iteration \(k): \(a[k]) vs \(b[k])") }
        let ea = try NPYArray.read(from: off + "/embeddings/test_embeddings.npy")
        let eb = try NPYArray.read(from: on + "/embeddings/test_embeddings.npy")
        #expect(ea != eb)
    }

    @Test func checkpointHoldsTheQueueAndResumeIsBitExact() throws {
        let data = try noisyClusterDataset()
        let whole = temporaryDirectory("memory-whole")
        let full = try Trainer(configuration: configuration(whole, iterations: 30), dataset: data).run(progress: false)
        let split = temporaryDirectory("memory-split")
        #expect(throws: Trainer.SimulatedInterruption.self) {
            try Trainer(configuration: configuration(split, iterations: 30), dataset: data).run(progress: false, interruptAfterCheckpoint: 10)
        }
        // After 10 enqueues of 24 rows a 40-row queue is full; the next row overwrites slot 240 mod 40 = 0.
        let state = try Checkpoint(contentsOf: split + "/checkpoints/last.ckpt")
        #expect(state.metadata.memoryCapacity == 40)
        #expect(state.metadata.memoryHead == 0)
        #expect(state.metadata.memoryLabels?.count == 40)
        let stored = try state.tensors.tensor("memory.embeddings", rows: 40, columns: 8)
        #expect(stored.elements.allSatisfy { $0.isFinite })
        // The queue holds the embeddings of the batch of iteration 9 (the last 24 rows enqueued):
        // slots 16..<40 in order.
        let labels = try data.train.labels(of: {
            var sampler = try ClassBalancedSampler(labels: data.train.labels, classesPerBatch: 6, samplesPerClass: 4, seed: 3)
            for _ in 0..<9 { _ = sampler.nextBatch() }
            return sampler.nextBatch()
        }())
        #expect(Array(state.metadata.memoryLabels![16..<40]) == labels)
        let resumed = try Trainer(configuration: configuration(split, iterations: 30), dataset: data, resume: true).run(progress: false)
        #expect(resumed.retrieval == full.retrieval)
        #expect(try NPYArray.read(from: whole + "/embeddings/test_embeddings.npy")
                == NPYArray.read(from: split + "/embeddings/test_embeddings.npy"), "bit-identical embeddings after resume")
        #expect(try stepLosses(whole) == stepLosses(split))
        // The end states agree too: the same queue in both final checkpoints.
        let a = try Checkpoint(contentsOf: whole + "/checkpoints/last.ckpt")
        let b = try Checkpoint(contentsOf: split + "/checkpoints/last.ckpt")
        #expect(a.metadata.memoryLabels == b.metadata.memoryLabels && a.metadata.memoryHead == b.metadata.memoryHead)
        #expect(a.tensors.tensors["memory.embeddings"] == b.tensors.tensors["memory.embeddings"])
    }

    /// The bytes of a checkpoint whose metadata JSON is `edit`ed (the CRC recomputed).
    /// The issue-15 options in training: Symm's linear α/β schedule, negative class sampling
    /// drawn per iteration and memory-pair synthesis change the run, and resume stays bit-exact.
    @Test func scheduledOptionsResumeBitExactly() throws {
        let data = try noisyClusterDataset()
        func options(_ directory: String) -> TrainingConfiguration {
            var c = configuration(directory, iterations: 20, warmup: 3)
            c.loss = LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .symm,
                                       symmetrical: SymmetricalSynthesis(schedule: .linear, finalAlpha: 1.5, finalBeta: 0.9),
                                       negativeClasses: 2, memorySynthesis: true)
            return c
        }
        let plainRun = temporaryDirectory("options-plain")
        var plain = configuration(plainRun, iterations: 20, warmup: 3)
        plain.loss = LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .symm)
        try Trainer(configuration: plain, dataset: data).run(progress: false)
        let whole = temporaryDirectory("options-whole")
        let full = try Trainer(configuration: options(whole), dataset: data).run(progress: false)
        // Iteration 0 is α = 2, β = 1 (the start of the ramp) but already samples 2 classes.
        let a = try stepLosses(plainRun), b = try stepLosses(whole)
        #expect(a.count == 20 && b.count == 20 && zip(a, b).allSatisfy { $0 != $1 })
        let split = temporaryDirectory("options-split")
        #expect(throws: Trainer.SimulatedInterruption.self) {
            try Trainer(configuration: options(split), dataset: data).run(progress: false, interruptAfterCheckpoint: 10)
        }
        let resumed = try Trainer(configuration: options(split), dataset: data, resume: true).run(progress: false)
        #expect(resumed.retrieval == full.retrieval)
        #expect(try stepLosses(whole) == stepLosses(split))
        #expect(try NPYArray.read(from: whole + "/embeddings/test_embeddings.npy")
                == NPYArray.read(from: split + "/embeddings/test_embeddings.npy"))
    }

    func rewritten(_ checkpoint: Checkpoint, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: JSONConfiguration.encode(checkpoint.metadata)) as! [String: Any]
        edit(&object)
        return Checkpoint.encoded(metadataJSON: try JSONSerialization.data(withJSONObject: object), tensors: checkpoint.tensors)
    }

    @Test func olderCheckpointsAndConfigurationsWithoutTheKeysDecode() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("memory-old")
        var c = configuration(directory, iterations: 10, memory: 0, warmup: 0)
        c.logEvery = 5
        try Trainer(configuration: c, dataset: data).run(progress: false)
        let path = directory + "/checkpoints/last.ckpt"
        let state = try Checkpoint(contentsOf: path)
        #expect(state.metadata.memoryCapacity == nil && state.tensors.tensors["memory.embeddings"] == nil)
        // A checkpoint from before the memory: no configuration keys memory and memoryWarmup.
        let old = try rewritten(state) { object in
            var configuration = object["configuration"] as! [String: Any]
            configuration["memory"] = nil
            configuration["memoryWarmup"] = nil
            object["configuration"] = configuration
        }
        let decoded = try Checkpoint(decoding: old, source: "old.ckpt")
        #expect(decoded.metadata == state.metadata)
        // It resumes (with an empty queue) like the checkpoint it stands for.
        try AtomicFile.write(old, to: path)
        c.iterations = 12
        try Trainer(configuration: c, dataset: data, resume: true).run(progress: false)
        #expect(try Checkpoint(contentsOf: path).metadata.iteration == 12)
        c.iterations = 10
        // A value of the wrong type stays an error naming the file (missing keys take their
        // defaults: CheckpointCompatibilityTests).
        let broken = try rewritten(state) { object in
            var configuration = object["configuration"] as! [String: Any]
            configuration["seed"] = "three"
            object["configuration"] = configuration
        }
        let error = #expect(throws: TrainingError.self) { try Checkpoint(decoding: broken, source: "broken.ckpt") }
        #expect(error.map { "\($0)" }?.contains("broken.ckpt") == true)
        // config.json files without the keys read as memory off.
        var object = try JSONSerialization.jsonObject(with: JSONConfiguration.encode(c)) as! [String: Any]
        object["memory"] = nil
        object["memoryWarmup"] = nil
        let read = try JSONConfiguration.decode(TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: object),
                                                over: TrainingConfiguration(), source: "config.json")
        #expect(read == c)
    }

    @Test func inconsistentMemoryInACheckpointIsRefused() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("memory-bad")
        try Trainer(configuration: configuration(directory, iterations: 10, memory: 40, warmup: 0), dataset: data).run(progress: false)
        let state = try Checkpoint(contentsOf: directory + "/checkpoints/last.ckpt")
        #expect(try Trainer.restoredMemory(state, source: "x.ckpt")?.count == 40)
        var noTensor = state
        noTensor.tensors.tensors["memory.embeddings"] = nil
        var shortLabels = state
        shortLabels.metadata.memoryLabels = Array(state.metadata.memoryLabels!.dropLast())
        var badHead = state
        badHead.metadata.memoryHead = 40
        for (name, bad) in [("no tensor", noTensor), ("short labels", shortLabels), ("bad head", badHead)] {
            let error = #expect(throws: TrainingError.self, "\(name)") { try Trainer.restoredMemory(bad, source: "x.ckpt") }
            #expect(error.map { "\($0)" }?.contains("x.ckpt") == true, "\(name)")
        }
    }

    @Test func memoryOptionsAreValidated() throws {
        var c = smallConfiguration(temporaryDirectory("memory-validate"))
        c.memory = -1
        #expect(throws: TrainingError.self) { try c.validate() }
        c.memory = TrainingConfiguration.Limits.memory + 1
        #expect(throws: TrainingError.self) { try c.validate() }
        c.memory = 64
        c.memoryWarmup = -1
        #expect(throws: TrainingError.self) { try c.validate() }
        c.memoryWarmup = 0
        try c.validate()
    }
}
