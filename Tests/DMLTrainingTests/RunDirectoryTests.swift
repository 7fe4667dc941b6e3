import DMLRunDirectory
import Foundation
import Testing
import DMLNumerics
import DMLData
import DMLEvaluation
import MetricLearning
@testable import DMLTraining

/// The run-directory guarantees of docs/guarantees.md ("Run directories"), in process.
@Suite struct RunDirectoryTests {
    func configuration(_ directory: String, iterations: Int = 20) -> TrainingConfiguration {
        var c = smallConfiguration(directory)
        c.iterations = iterations
        c.evalEvery = 10
        c.logEvery = 4   // windows straddle checkpoints
        return c
    }

    /// The records of a log without its timing fields (wall time and throughput differ run to run).
    func deterministicLines(_ directory: String) throws -> [String] {
        try RunLog.read(from: directory + "/log.jsonl").map { $0.withoutTimings.jsonLine() }
    }

    @Test func emptyAndRootOutputsAreRefused() throws {
        for path in ["", " ", "/", "//", "/..", "/tmp/../"] {
            #expect(throws: RunDirectoryError.self, "\(path)") { try RunFiles.validateOutput(path) }
            var c = TrainingConfiguration()
            c.output = path
            #expect(throws: RunDirectoryError.self, "\(path)") { try c.validate() }
        }
        let file = temporaryDirectory("plainfile")
        try AtomicFile.write("x", to: file)
        #expect(throws: RunDirectoryError.unusableOutput(path: file, reason: "is a file, not a directory")) { try RunFiles.validateOutput(file) }
        #expect(throws: Never.self) { try RunFiles.validateOutput("runs/x") }
    }

    @Test func aSecondWriterIsRefusedWithTheHoldersPID() throws {
        let directory = temporaryDirectory("lock")
        let lock = try RunDirectoryLock(directory: directory)
        #expect(try String(contentsOfFile: directory + "/run.lock", encoding: .utf8) == "\(getpid())\n")
        #expect(throws: RunDirectoryError.inUse(directory: directory, pid: getpid())) { _ = try RunDirectoryLock(directory: directory) }
        let data = try noisyClusterDataset()
        do {
            _ = try Trainer(configuration: configuration(directory), dataset: data)
            Issue.record("a second trainer took a held directory")
        } catch let error as RunDirectoryError {
            #expect("\(error)".contains("pid \(getpid())"))
        }
        lock.release()
        #expect(!FileManager.default.fileExists(atPath: directory + "/run.lock"))
        // Released: a trainer can take it, and gives it back when its run ends.
        try Trainer(configuration: configuration(directory, iterations: 4), dataset: data).run(progress: false)
        #expect(!FileManager.default.fileExists(atPath: directory + "/run.lock"))
        let again = try RunDirectoryLock(directory: directory)
        #expect(again.isHeld)
    }

    @Test func anExistingRunIsRefusedUnlessResumedOrOverwritten() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("existing")
        try Trainer(configuration: configuration(directory), dataset: data).run(progress: false)
        try AtomicFile.write("keep me", to: directory + "/notes.txt")
        var other = configuration(directory)
        other.seed = 99
        do {
            _ = try Trainer(configuration: other, dataset: data)
            Issue.record("trained into a directory holding another run")
        } catch let error as RunDirectoryError {
            guard case .holdsAnotherRun(_, let files) = error else { Issue.record("\(error)"); return }
            #expect(files.contains("metrics.json") && files.contains("checkpoints/last.ckpt"))
            #expect("\(error)".contains("--resume") && "\(error)".contains("--overwrite"))
        }
        // --overwrite: the new run, and nothing of the old one; other files stay.
        let before = try Data(contentsOf: URL(fileURLWithPath: directory + "/metrics.json"))
        try Trainer(configuration: other, dataset: data, start: .overwrite).run(progress: false)
        let saved = try JSONConfiguration.read(TrainingConfiguration.self, from: directory + "/config.json", over: TrainingConfiguration())
        #expect(saved.seed == 99)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/metrics.json")) != before)
        #expect(try String(contentsOfFile: directory + "/notes.txt", encoding: .utf8) == "keep me")
        let fresh = temporaryDirectory("fresh")
        try Trainer(configuration: { var c = other; c.output = fresh; return c }(), dataset: data).run(progress: false)
        #expect(try deterministicLines(directory) == deterministicLines(fresh))
    }

    @Test func aRunThatCannotStartLeavesTheOldRunUntouched() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("cannotstart")
        try Trainer(configuration: configuration(directory), dataset: data).run(progress: false)
        let files = RunFiles(directory).existingRunFiles()
        let config = try Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))
        let log = try Data(contentsOf: URL(fileURLWithPath: directory + "/log.jsonl"))
        var bad = configuration(directory)
        bad.evaluation.recallKs = [1, 1000]   // more neighbours than the held-out split has: the first evaluation fails
        #expect(throws: EvaluationError.self) { try Trainer(configuration: bad, dataset: data, start: .overwrite).run(progress: false) }
        #expect(RunFiles(directory).existingRunFiles() == files)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/config.json")) == config)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/log.jsonl")) == log)
        // A new directory gets no config.json either.
        let empty = temporaryDirectory("cannotstart-new")
        bad.output = empty
        #expect(throws: EvaluationError.self) { try Trainer(configuration: bad, dataset: data).run(progress: false) }
        #expect(RunFiles(empty).existingRunFiles().isEmpty)
    }

    @Test func resumeIdentifiesTheRunByContentNotPath() throws {
        let data = try noisyClusterDataset()
        let parent = temporaryDirectory("moved")
        let whole = parent + "/whole"
        try Trainer(configuration: configuration(whole, iterations: 30), dataset: data).run(progress: false)
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let original = parent + "/a"
        #expect(throws: Trainer.SimulatedInterruption.self) {
            try Trainer(configuration: configuration(original, iterations: 30), dataset: data).run(progress: false, interruptAfterCheckpoint: 10)
        }
        // Copied elsewhere and spelled with ./ and a trailing slash: still the same run.
        let copy = parent + "/b"
        try FileManager.default.copyItem(atPath: original, toPath: copy)
        try Trainer(configuration: configuration(parent + "/./b/", iterations: 30), dataset: data, start: .resume).run(progress: false)
        #expect(try deterministicLines(copy) == deterministicLines(whole))
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy + "/metrics.json")) == Data(contentsOf: URL(fileURLWithPath: whole + "/metrics.json")))
        // Another configuration is still refused, naming what differs.
        var other = configuration(original, iterations: 30)
        other.optimizer.learningRate = 0.5
        do {
            _ = try Trainer(configuration: other, dataset: data, start: .resume)
            Issue.record("resumed with another configuration")
        } catch {
            #expect("\(error)".contains("optimizer"))
        }
    }

    @Test func iterationsMayGrowButNotShrinkOnResume() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("iterations")
        try Trainer(configuration: configuration(directory, iterations: 20), dataset: data).run(progress: false)
        #expect(throws: RunDirectoryError.shrinking(directory: directory, done: 20, requested: 12)) {
            _ = try Trainer(configuration: configuration(directory, iterations: 12), dataset: data, start: .resume)
        }
        try Trainer(configuration: configuration(directory, iterations: 30), dataset: data, start: .resume).run(progress: false)
        let saved = try JSONConfiguration.read(TrainingConfiguration.self, from: directory + "/config.json", over: TrainingConfiguration())
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/metrics.json"))) as! [String: Any]
        #expect(saved.iterations == 30)
        #expect((metrics["iteration"] as? NSNumber)?.intValue == 30)
    }

    @Test func resumingAFinishedRunChangesNothing() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("finished")
        try Trainer(configuration: configuration(directory), dataset: data).run(progress: false)
        let files = ["log.jsonl", "metrics.json", "config.json", "checkpoints/last.ckpt", "checkpoints/best.ckpt",
                     "embeddings/test_embeddings.npy"]
        let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0)) }
        try Trainer(configuration: configuration(directory), dataset: data, start: .resume).run(progress: false)
        let after = try files.map { try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0)) }
        for (k, name) in files.enumerated() { #expect(before[k] == after[k], "\(name)") }
        let evaluations = try RunLog.read(from: directory + "/log.jsonl").compactMap { r -> Int? in
            if case .evaluation(let i, _, _) = r { i } else { nil } }
        #expect(evaluations == [0, 10, 20])
    }

    @Test func staleTemporaryFilesAreRemovedOnStartAndResume() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("stale")
        try Trainer(configuration: configuration(directory, iterations: 10), dataset: data).run(progress: false)
        // A pid no process has (Linux pids stay below 2^22) and one that is alive (ours).
        let dead = [directory + "/checkpoints/.last.ckpt.tmp-4194999-123", directory + "/.log.jsonl.tmp-4194999-7"]
        let alive = directory + "/.config.json.tmp-\(getpid())-5"
        for path in dead + [alive] { try AtomicFile.write("partial", to: path) }
        #expect(Set(AtomicFile.staleTemporaries(in: directory + "/checkpoints")) == [dead[0]])
        try Trainer(configuration: configuration(directory, iterations: 20), dataset: data, start: .resume).run(progress: false)
        for path in dead { #expect(!FileManager.default.fileExists(atPath: path), "\(path)") }
        #expect(FileManager.default.fileExists(atPath: alive))
    }

    @Test func logNumbersSurviveAResumeExactly() throws {
        var rng = SeededGenerator(seed: 8)
        for _ in 0..<2000 {
            let x = Double(rng.nextNormal()) * pow(10, Double(Int(rng.next() % 17)) - 8)
            let step = TrainingStepRecord(iteration: 1, epoch: x, loss: x / 3, syntheticFraction: x * x, learningRate: 1e-4,
                                          imagesPerSecond: x * 7, elapsedSeconds: 1 / (x + 2))
            #expect(try RunLogRecord.parse(RunLogRecord.step(step).jsonLine()) == .step(step))
        }
        let collapse = RunLogRecord.collapse(CollapseRecord(iteration: 40, began: 21, criterion: "spread", spread: 0.0041,
                                                             initialSpread: 0.3, loss: 0.2, collapseLoss: 0.2))
        #expect(try RunLogRecord.parse(collapse.jsonLine()) == collapse)
    }

    @Test func windowsThatStraddleACheckpointResumeToTheSameLog() throws {
        let data = try noisyClusterDataset()
        let whole = temporaryDirectory("window-whole"), split = temporaryDirectory("window-split")
        try Trainer(configuration: configuration(whole, iterations: 30), dataset: data).run(progress: false)
        #expect(throws: Trainer.SimulatedInterruption.self) {
            try Trainer(configuration: configuration(split, iterations: 30), dataset: data).run(progress: false, interruptAfterCheckpoint: 10)
        }
        try Trainer(configuration: configuration(split, iterations: 30), dataset: data, start: .resume).run(progress: false)
        let a = try deterministicLines(whole), b = try deterministicLines(split)
        #expect(a == b)
        #expect(a.contains { $0.contains("\"iteration\":12") })   // the window 9...12 spans the checkpoint at 10
    }

    @Test func resumeWithoutACheckpointStartsAgain() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("nocheckpoint")
        let reference = temporaryDirectory("nocheckpoint-ref")
        try Trainer(configuration: configuration(reference), dataset: data).run(progress: false)
        // What a kill right after the iteration-0 evaluation leaves.
        try AtomicFile.write(JSONConfiguration.encode(configuration(directory)), to: directory + "/config.json")
        try AtomicFile.write("", to: directory + "/log.jsonl")
        try Trainer(configuration: configuration(directory), dataset: data, start: .resume).run(progress: false)
        #expect(try deterministicLines(directory) == deterministicLines(reference))
    }
}
