import DMLNumerics
import Foundation
import Testing
@testable import DMLTraining

/// Checkpoints written before configuration keys were added still load: the stored
/// configuration is decoded over today's defaults.
@Suite struct CheckpointCompatibilityTests {
    /// The metadata JSON of `checkpoint` with its configuration edited (numbers kept exactly).
    func rewrittenMetadata(_ checkpoint: Checkpoint, _ edit: (inout [String: ExactJSON]) -> Void) throws -> Data {
        guard case .object(var object) = try JSONDecoder().decode(ExactJSON.self, from: JSONConfiguration.encode(checkpoint.metadata)),
              case .object(var configuration)? = object["configuration"] else {
            throw TrainingError.invalidCheckpoint(file: "test", reason: "metadata is not an object")
        }
        edit(&configuration)
        object["configuration"] = .object(configuration)
        return try JSONEncoder().encode(ExactJSON.object(object))
    }

    /// Removes `path` (a dotted key path) from a JSON object.
    func remove(_ path: [String], from object: inout [String: ExactJSON]) {
        guard let first = path.first else { return }
        if path.count == 1 { object[first] = nil; return }
        guard case .object(var inner)? = object[first] else { return }
        remove(Array(path.dropFirst()), from: &inner)
        object[first] = .object(inner)
    }

    @Test func aCheckpointLackingSeveralKeysLoadsWithTheirDefaults() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("old-checkpoint")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var c = smallConfiguration(directory)
        c.iterations = 10
        c.evalEvery = 5
        c.logEvery = 4   // the checkpoint of iteration 5 holds a logging window in progress: its loss must survive exactly
        #expect(throws: Trainer.SimulatedInterruption.self) {
            try Trainer(configuration: c, dataset: data).run(progress: false, interruptAfterCheckpoint: 5)
        }
        let path = directory + "/checkpoints/last.ckpt"
        let state = try Checkpoint(contentsOf: path)
        #expect(state.metadata.window?.losses.isEmpty == false)

        // Keys at every depth whose stored value is today's default, as in a checkpoint written
        // before they existed; and one (model.embeddingSize) that is not a default and must stay.
        let defaults = TrainingConfiguration()
        let missing: [[String]] = [["memory"], ["memoryWarmup"], ["processes"], ["loaderThreads"], ["collapse"],
                                   ["evaluation", "rawInputBaseline"], ["model", "freezeBatchNorm"], ["model", "dropout"],
                                   ["model", "freezeThrough"], ["optimizer", "cosineMinimumFactor"], ["loss", "pairing"]]
        #expect(state.metadata.configuration.collapse == defaults.collapse)
        #expect(state.metadata.configuration.evaluation.rawInputBaseline == defaults.evaluation.rawInputBaseline)
        let json = try rewrittenMetadata(state) { configuration in for key in missing { remove(key, from: &configuration) } }
        let text = String(decoding: json, as: UTF8.self)
        #expect(!text.contains("\"rawInputBaseline\"") && !text.contains("\"freezeBatchNorm\"") && !text.contains("\"memoryWarmup\""))
        // A plain decoder refuses it: the keys are really missing.
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CheckpointMetadata.self, from: json) }
        let old = Checkpoint.encoded(metadataJSON: json, tensors: state.tensors)
        let decoded = try Checkpoint(decoding: old, source: "old.ckpt")
        #expect(decoded.metadata == state.metadata)
        #expect(decoded.metadata.window == state.metadata.window)
        #expect(decoded.metadata.configuration.model.embeddingSize == c.model.embeddingSize)

        // It resumes like the checkpoint it stands for.
        try AtomicFile.write(old, to: path)
        c.iterations = 12
        try Trainer(configuration: c, dataset: data, resume: true).run(progress: false)
        #expect(try Checkpoint(contentsOf: path).metadata.iteration == 12)
    }

    @Test func storedValuesWinAndUnknownKeysAreIgnored() throws {
        let base = ExactJSON.object(["a": .integer(1), "b": .object(["c": .number(0.5), "d": .string("x")])])
        let stored = ExactJSON.object(["b": .object(["c": .number(0.36090225563909784)]), "old": .bool(true),
                                       "seed": .unsigned(UInt64.max)])
        let merged = stored.filling(from: base)
        #expect(merged == .object(["a": .integer(1), "b": .object(["c": .number(0.36090225563909784), "d": .string("x")]),
                                   "old": .bool(true), "seed": .unsigned(UInt64.max)]))
        // Exact through JSON text: 17-digit doubles and integers above 2^53.
        #expect(try JSONDecoder().decode(ExactJSON.self, from: JSONEncoder().encode(merged)) == merged)
    }
}
