import Foundation
import Testing
import DMLNetworks
import DMLNumerics

/// Checkpoint encoding: round trips, conversion between Float and Double files, and clear
/// errors on damaged, truncated or mismatched data.
@Suite struct TensorArchiveTests {
    static func sample() -> TensorArchive<Float> {
        TensorArchive(tensors: ["a.weight": Matrix([[1, 2, 3], [4, 5, 6]]), "b": Matrix([[-0.5]]),
                                "empty": Matrix(rows: 0, columns: 3)],
                      integers: ["step": 42, "negative": -7])
    }

    @Test func roundTripAndConversion() throws {
        let archive = Self.sample()
        let data = archive.encoded()
        #expect(try TensorArchive<Float>(decoding: data) == archive)
        let asDouble = try TensorArchive<Double>(decoding: data)
        #expect(asDouble.tensors["a.weight"] == Matrix([[1, 2, 3], [4, 5, 6]]))
        #expect(asDouble.integers["step"] == 42)
        #expect(try TensorArchive<Float>(decoding: asDouble.encoded()) == archive)
        #expect(data.prefix(8) == Data("DMLTENSR".utf8))
    }

    @Test func everyTruncationIsReported() {
        let data = Self.sample().encoded()
        for length in [0, 3, 7, 12, 20, data.count / 2, data.count - 5, data.count - 1] {
            #expect(throws: TensorArchiveError.self) { try TensorArchive<Float>(decoding: data.prefix(length)) }
        }
    }

    @Test func damagedBytesFailTheChecksum() {
        var data = Self.sample().encoded()
        data[data.count - 10] ^= 0x40
        #expect(throws: TensorArchiveError.checksumMismatch(source: "x.ckpt")) {
            try TensorArchive<Float>(decoding: data, source: "x.ckpt")
        }
    }

    @Test func foreignFilesAndVersions() {
        #expect(throws: TensorArchiveError.notAnArchive(source: "f")) {
            try TensorArchive<Float>(decoding: Data("not a checkpoint at all".utf8), source: "f")
        }
        var data = Self.sample().encoded()
        data[8] = 9
        #expect(throws: TensorArchiveError.unsupportedVersion(source: "f", version: 9, supported: 1)) {
            try TensorArchive<Float>(decoding: data, source: "f")
        }
        let error = TensorArchiveError.truncated(source: "/runs/a/checkpoint.bin", reading: "tensor a.weight (2×3)")
        #expect(error.description == "/runs/a/checkpoint.bin: truncated while reading tensor a.weight (2×3)")
    }

    @Test func fileRoundTripAndUnreadablePath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dml-archive-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.ckpt").path
        try Self.sample().write(to: path)
        #expect(try TensorArchive<Float>(contentsOf: path) == Self.sample())
        #expect(throws: TensorArchiveError.self) { try TensorArchive<Float>(contentsOf: path + ".missing") }
    }

    @Test func modelStateRestoresOutputsAndRunningStatistics() throws {
        let shape = TensorShape(channels: 1, height: 8, width: 8)
        let trained: Sequential<Float> = ModelPresets.convolutional(input: shape, widths: [4, 8], embeddingDimension: 6, seed: 1)
        var rng = SeededGenerator(seed: 2)
        let x = Tensor(rng.normalMatrix(rows: 5, columns: 64, as: Float.self), shape: shape)
        _ = trained.forward(x, training: true)  // moves the batch-norm running statistics
        let state = trained.exportState(prefix: "model.")
        #expect(state.tensors["model.block1.bn.running_mean"] != Matrix(rows: 1, columns: 4))
        #expect(state.tensors.keys.contains("model.embedding.weight"))

        let fresh: Sequential<Float> = ModelPresets.convolutional(input: shape, widths: [4, 8], embeddingDimension: 6, seed: 99)
        #expect(fresh.forward(x, training: false) != trained.forward(x, training: false))
        try fresh.importState(TensorArchive(decoding: state.encoded()), prefix: "model.")
        #expect(fresh.forward(x, training: false) == trained.forward(x, training: false))
    }

    @Test func mismatchedModelsAreRejectedWithoutChanges() throws {
        let small: Sequential<Double> = ModelPresets.mlp(inputDimension: 4, hiddenDimensions: [3], embeddingDimension: 2, seed: 1)
        let wide: Sequential<Double> = ModelPresets.mlp(inputDimension: 4, hiddenDimensions: [5], embeddingDimension: 2, seed: 1)
        let before = small.exportState()
        #expect(throws: TensorArchiveError.shapeMismatch(name: "embedding.weight", expected: "2×3", found: "2×5")) {
            try small.importState(wide.exportState())
        }
        #expect(small.exportState() == before)
        var extra = before
        extra.tensors["head.weight"] = Matrix([[1]])
        #expect(throws: TensorArchiveError.unexpected(names: ["head.weight"])) { try small.importState(extra) }
        try small.importState(extra, strict: false)
        var missing = before
        missing.tensors["hidden1.weight"] = nil
        #expect(throws: TensorArchiveError.missing(name: "hidden1.weight")) { try small.importState(missing) }
    }

    @Test func dropoutCounterIsPartOfTheState() throws {
        let model: Sequential<Double> = ModelPresets.mlp(inputDimension: 4, hiddenDimensions: [8], embeddingDimension: 3,
                                                         dropout: 0.5, seed: 3)
        let x = Tensor(Matrix<Double>(rows: 2, columns: 4, repeating: 1))
        _ = model.forward(x, training: true)
        let state = model.exportState()
        #expect(state.integers == ["dropout1.forwardCount": 1])
        let next = model.forward(x, training: true)
        let resumed: Sequential<Double> = ModelPresets.mlp(inputDimension: 4, hiddenDimensions: [8], embeddingDimension: 3,
                                                           dropout: 0.5, seed: 3)
        try resumed.importState(state)
        #expect(resumed.forward(x, training: true) == next)
    }
}

/// Checkpoints written before the PyTorch buffer names still load.
@Suite struct LegacyCheckpointTests {
    /// `Tests/Fixtures/networks/legacy-small-cnn.dmlstate`: written by the code before the
    /// batch-norm buffers were renamed (`runningMean`, `runningVariance`): the state of
    /// `ModelPresets.convolutional(input: 1×6×6, widths: [2, 3], embeddingDimension: 4, seed: 1)`
    /// after one training forward pass, under `model.`, plus `check.input` and the evaluation
    /// output `check.output` of that model.
    static var fixturePath: String {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/networks/legacy-small-cnn.dmlstate").path
    }

    @Test func anArchiveWithTheOldBufferNamesLoads() throws {
        let archive = try TensorArchive<Float>(contentsOf: Self.fixturePath)
        #expect(archive.tensors["model.block1.bn.runningMean"] != nil)
        #expect(archive.tensors["model.block1.bn.running_mean"] == nil)
        let shape = TensorShape(channels: 1, height: 6, width: 6)
        let model: Sequential<Float> = ModelPresets.convolutional(input: shape, widths: [2, 3], embeddingDimension: 4, seed: 77)
        try model.importState(archive.entries(withPrefix: "model."))
        let bn = try #require(model["block1.bn"] as? BatchNorm<Float>)
        #expect(bn.runningMean == archive.tensors["model.block1.bn.runningMean"])
        #expect(bn.runningVariance == archive.tensors["model.block1.bn.runningVariance"])
        let x = Tensor(try #require(archive.tensors["check.input"]), shape: shape)
        let stored = try #require(archive.tensors["check.output"])
        // The fused evaluation pass (batch norm folded into the convolutions) rounds differently
        // from the layers run one by one, which wrote the fixture: within Float rounding of it,
        // and bit-identical with the fusion off.
        let fused = model.forward(x, training: false).values
        #expect(zip(fused.elements, stored.elements).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        model.useInferenceFusion(false)
        #expect(model.forward(x, training: false).values == stored)
        // Written again, the state uses the new names and loads into a fresh model too.
        let state = model.exportState()
        #expect(state.tensors["block1.bn.running_var"] == archive.tensors["model.block1.bn.runningVariance"])
        let again: Sequential<Float> = ModelPresets.convolutional(input: shape, widths: [2, 3], embeddingDimension: 4, seed: 78)
        try again.importState(state)
        again.useInferenceFusion(false)
        #expect(again.forward(x, training: false).values == stored)
    }
}
