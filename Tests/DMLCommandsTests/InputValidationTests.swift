import Foundation
import Testing
import DMLNumerics
import DMLData
import DMLTraining
@testable import DMLCommands

/// Regression tests of issue 10: every input that crashed or was silently accepted is a clear
/// error naming the file or option and what was expected, and nothing is written.
@Suite struct InputValidationTests {
    /// A fresh folder with a tiny `.npy` feature dataset (12 classes × 6 items of dimension `d`).
    struct Workspace {
        let root: String
        init(dimension: Int = 8) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("validation-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            var rng = SeededGenerator(seed: 4)
            let features: Matrix<Float> = rng.normalMatrix(rows: 72, columns: dimension)
            try NPYArray(features).write(to: root + "/features.npy")
            try NPYArray(labels: (0..<72).map { $0 / 6 }).write(to: root + "/labels.npy")
        }
        func path(_ name: String) -> String { root + "/" + name }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
        /// The bytes of a `.npy` file with a hand-written header (padded to 64 bytes) and `data`.
        func writeRawNPY(_ name: String, header: String, data: Data = Data()) throws {
            var text = header
            while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
            text += "\n"
            var bytes = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)])
            bytes.append(contentsOf: text.utf8)
            bytes.append(data)
            try bytes.write(to: URL(fileURLWithPath: path(name)))
        }
        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    /// The configuration `dml train` resolves from `arguments` (after a tiny npy setup).
    func resolve(_ w: Workspace, _ arguments: [String]) throws -> TrainingConfiguration {
        try TrainCommand.parse(["--dataset", "npy", "--data-root", w.root, "-o", w.path("run"), "--quiet"] + arguments)
            .resolvedConfiguration()
    }

    // MARK: .npy sizes

    @Test("A .npy header whose shape product overflows is an error in every reader, not a crash")
    func overflowingNPYShape() throws {
        let w = try Workspace(); defer { w.remove() }
        try w.writeRawNPY("huge.npy", header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
                          data: Data(count: 64))
        try w.writeRawNPY("wide.npy", header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904), }")
        // Within the bounds but larger than the file: truncated, and nothing is allocated.
        try w.writeRawNPY("large.npy", header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 4), }",
                          data: Data(count: 64))
        #expect(throws: NPYError(source: w.path("large.npy"),
                                 reason: "truncated data: shape [2147483647, 4] of float64 needs 68719476704 bytes, the file has 64")) {
            try NPYArray.read(from: w.path("large.npy"))
        }
        let expected = "shape [4611686018427387904, 4] of float32 is impossibly large (a dimension above 2147483647, or a size that overflows 64 bits); the header is damaged"
        #expect(throws: NPYError(source: w.path("huge.npy"), reason: expected)) { try NPYArray.read(from: w.path("huge.npy")) }
        #expect(throws: NPYError.self) { try NPYArray.read(from: w.path("wide.npy")) }
        // dml eval, dml loss and the npy dataset all read through NPYArray.
        #expect(throws: NPYError(source: w.path("huge.npy"), reason: expected)) {
            try EvalCommand.parse(["--embeddings", w.path("huge.npy"), "--labels", w.path("labels.npy")]).execute()
        }
        #expect(throws: NPYError(source: w.path("huge.npy"), reason: expected)) {
            try LossCommand.parse(["--embeddings", w.path("huge.npy"), "--labels", w.path("labels.npy"), "--loss", "triplet"]).execute()
        }
        try FileManager.default.removeItem(atPath: w.path("features.npy"))
        try FileManager.default.moveItem(atPath: w.path("huge.npy"), toPath: w.path("features.npy"))
        #expect(throws: DataError(file: w.path("features.npy"), expected)) {
            try NPYFeatureDataset.load(root: w.root)
        }
    }

    @Test("Features with 0 columns or 0 rows are refused by the npy dataset")
    func emptyFeatures() throws {
        let w = try Workspace(); defer { w.remove() }
        try NPYArray(shape: [72, 0], values: .float32([])).write(to: w.path("features.npy"))
        #expect(throws: DataError(file: w.path("features.npy"), "the features have 0 columns; expected N × d with d ≥ 1")) {
            try NPYFeatureDataset.load(root: w.root)
        }
    }

    // MARK: Options and configuration files

    @Test("Out-of-range options are errors naming the option", arguments: [
        (["--threads", "99999999999"], "threads"),
        (["--threads", "0"], "threads"),
        (["--image-size", "1"], "dataset.imageSize"),
        (["--image-size", "2"], "dataset.imageSize"),
        (["--image-size", "3"], "dataset.imageSize"),
        (["--embedding-size", "99999999999"], "model.embeddingSize"),
        (["--embedding-size", "0"], "model.embeddingSize"),
        (["--weight-decay=-0.1"], "optimizer.weightDecay"),
        (["--lr", "0.0"], "optimizer.learningRate"),
    ])
    func badOptions(arguments: [String], name: String) throws {
        let w = try Workspace(); defer { w.remove() }
        let error = #expect(throws: TrainingError.self) { try resolve(w, arguments) }
        guard case .invalidOption(let reported, let value, _)? = error else {
            Issue.record("expected invalidOption, got \(String(describing: error))")
            return
        }
        #expect(reported == name && value == (arguments.count > 1 ? arguments[1] : "-0.1"))
    }

    @Test("Unknown optimizer and schedule names are refused at parsing, with the valid names")
    func unknownNames() throws {
        for (option, valid) in [("--optimizer", ["adam", "adamw", "sgd"]), ("--schedule", ["constant", "step", "cosine"])] {
            let error = #expect(throws: (any Error).self) { try TrainCommand.parse([option, "rmsprop"]) }
            let message = error.map { TrainCommand.message(for: $0) } ?? ""
            #expect(message.contains("rmsprop") && valid.allSatisfy { message.contains("'\($0)'") }, "\(message)")
        }
    }

    @Test("Bad values in a configuration file name the key path and what was expected", arguments: [
        (#"{"model": {"hiddenSizes": [-3]}}"#, "option model.hiddenSizes[0] = -3 is invalid; expected 1...65536"),
        (#"{"model": {"hiddenSizes": [0]}}"#, "option model.hiddenSizes[0] = 0 is invalid; expected 1...65536"),
        (#"{"model": {"convolutionWidths": [0]}}"#, "option model.convolutionWidths[0] = 0 is invalid; expected 1...65536"),
        (#"{"model": {"convolutionWidths": [-4]}}"#, "option model.convolutionWidths[0] = -4 is invalid; expected 1...65536"),
        (#"{"model": {"architecture": "resnet"}}"#,
         "model.architecture: invalid value (unknown backbone 'resnet'; expected one of auto, small-cnn, mlp, efficientnet-lite0, resnet18, resnet50, googlenet)"),
        (#"{"optimizer": {"name": "sgd", "momentum": -5}}"#, "option optimizer.momentum = -5.0 is invalid; expected a number in [0, 1)"),
        (#"{"optimizer": {"weightDecay": -0.01}}"#, "option optimizer.weightDecay = -0.01 is invalid; expected a non-negative number"),
        (#"{"optimizer": {"embeddingLearningRateMultiplier": -1e12}}"#,
         "option optimizer.embeddingLearningRateMultiplier = -1000000000000.0 is invalid; expected a positive number of at most 1000"),
        (#"{"iterations": 20.5}"#, "iterations: expected an integer"),
        (#"{"model": {"embeddingSize": "64"}}"#, "model.embeddingSize: expected an integer"),
        (#"{"optimizer": {"name": "rmsprop"}}"#, #"optimizer.name: expected one of adam, adamw, sgd, got "rmsprop""#),
        (#"{"optimizer": {"schedule": "linear"}}"#, #"optimizer.schedule: expected one of constant, step, cosine, got "linear""#),
        (#"{"iterations": 10"#, "not valid JSON"),
    ])
    func badConfigurationFiles(json: String, message: String) throws {
        let w = try Workspace(); defer { w.remove() }
        try json.write(toFile: w.path("c.json"), atomically: true, encoding: .utf8)
        let error = #expect(throws: TrainingError.self) { try resolve(w, ["--config", w.path("c.json")]) }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains(message), "\(text)")
        #expect(!w.exists("run"))
    }

    @Test("A configuration path that is a directory or missing is a clear error")
    func configurationPaths() throws {
        let w = try Workspace(); defer { w.remove() }
        #expect(throws: TrainingError.invalidConfiguration(file: w.root, reason: "is a directory, expected a JSON configuration file")) {
            try resolve(w, ["--config", w.root])
        }
        #expect(throws: TrainingError.invalidConfiguration(file: w.path("none.json"), reason: "no such file")) {
            try resolve(w, ["--config", w.path("none.json")])
        }
    }

    // MARK: Networks that do not fit the data

    @Test("A CNN on feature vectors, or too deep for the images, is an error before anything is allocated")
    func networksThatDoNotFit() throws {
        let w = try Workspace(); defer { w.remove() }
        let data = try NPYFeatureDataset.load(root: w.root)
        var c = try resolve(w, ["--architecture", "cnn"])
        #expect(throws: TrainingError.invalidOption(name: "model.architecture", value: "small-cnn",
                                                    expected: "mlp or auto for feature vectors (the data are 8-dimensional vectors, not images)")) {
            try Trainer(configuration: c, dataset: data)
        }
        // Eight blocks halve a 28×28 image seven times: 28 → 0.
        c.model.architecture = .smallCNN
        c.model.convolutionWidths = Array(repeating: 4, count: 8)
        let shape = SampleShape(channels: 1, height: 28, width: 28)
        let deep = #expect(throws: TrainingError.self) {
            try EmbeddingNetwork.makeChecked(c.model, input: shape, isImageData: true, seed: 0)
        }
        #expect(deep.map { "\($0)" }?.contains("at most 5 blocks for 28×28 images") == true, "\(String(describing: deep))")
        // 65536 × 65536 hidden units: 4.3e9 parameters, refused without allocating.
        c.model.architecture = .mlp
        c.model.hiddenSizes = [65_536, 65_536]
        let big = #expect(throws: TrainingError.self) {
            try EmbeddingNetwork.makeChecked(c.model, input: SampleShape(channels: 8, height: 1, width: 1), isImageData: false, seed: 0)
        }
        #expect(big.map { "\($0)" }?.contains("a network of at most 1073741824 parameters") == true)
    }

    // MARK: Checkpoints and dml embed

    /// Trains 2 iterations on the workspace's features and returns the last checkpoint's path.
    func trainTiny(_ w: Workspace) throws -> String {
        let train = try TrainCommand.parse([
            "--dataset", "npy", "--data-root", w.root, "--iterations", "2", "--eval-every", "2", "--log-every", "1",
            "--classes-per-batch", "3", "--samples-per-class", "2", "--embedding-size", "4", "--loss", "triplet",
            "--quiet", "--no-report", "-o", w.path("run"),
        ])
        try train.run()
        return w.path("run/checkpoints/last.ckpt")
    }

    @Test("Checkpoint metadata is covered by a CRC; edited or inconsistent metadata is refused")
    func tamperedCheckpoints() throws {
        let w = try Workspace(); defer { w.remove() }
        let path = try trainTiny(w)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes[0..<8]) == Array("DMLCKPT2".utf8))
        // Change one digit of the metadata JSON ("embeddingSize" : 4 → 9).
        let text = String(decoding: bytes, as: UTF8.self)
        let range = try #require(text.range(of: "\"embeddingSize\" : 4"))
        let offset = text.utf8.distance(from: text.startIndex, to: range.upperBound) - 1
        bytes[offset] = UInt8(ascii: "9")
        let edited = #expect(throws: TrainingError.self) { try Checkpoint(decoding: Data(bytes), source: "edited.ckpt") }
        #expect(edited.map { "\($0)" }?.hasPrefix("edited.ckpt: corrupt metadata: CRC-32") == true, "\(String(describing: edited))")
        // A version-1 file (no metadata CRC) with a hostile input shape is refused by the consistency check.
        var state = try Checkpoint(contentsOf: path)
        state.metadata.inputShape = [Int(Int32.max), Int(Int32.max), 4]
        let json = try JSONConfiguration.encode(state.metadata)
        var v1 = Data("DMLCKPT1".utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { v1.append(contentsOf: $0) }
        v1.append(json)
        v1.append(state.tensors.encoded())
        let hostile = #expect(throws: TrainingError.self) { try Checkpoint(decoding: v1, source: "v1.ckpt") }
        #expect(hostile.map { "\($0)" }?.contains("inconsistent metadata") == true, "\(String(describing: hostile))")
        // The same file with its real metadata is still read (version 1 stays readable).
        state = try Checkpoint(contentsOf: path)
        let good = try JSONConfiguration.encode(state.metadata)
        var v1Good = Data("DMLCKPT1".utf8)
        withUnsafeBytes(of: UInt64(good.count).littleEndian) { v1Good.append(contentsOf: $0) }
        v1Good.append(good)
        v1Good.append(state.tensors.encoded())
        #expect(try Checkpoint(decoding: v1Good, source: "v1.ckpt").metadata == state.metadata)
        #expect(throws: TrainingError.invalidCheckpoint(file: w.root, reason: "is a directory, expected a checkpoint file (checkpoints/best.ckpt or last.ckpt)")) {
            try Checkpoint(contentsOf: w.root)
        }
    }

    @Test("dml embed refuses data of another shape than the model's, and writes both outputs or neither")
    func embedChecksAndWritesAtomically() throws {
        let w = try Workspace(); defer { w.remove() }
        let checkpoint = try trainTiny(w)
        // Another feature set of dimension 6.
        let other = try Workspace(dimension: 6); defer { other.remove() }
        let embed = try EmbedCommand.parse(["--checkpoint", checkpoint, "--data-root", other.root, "--out", w.path("e.npy")])
        let error = #expect(throws: TrainingError.self) { try embed.execute() }
        #expect(error.map { "\($0)" }?.contains("the model was trained on 8-dimensional feature vectors") == true, "\(String(describing: error))")
        #expect(!w.exists("e.npy") && !w.exists("e_labels.npy"))
        // A labels path that cannot be written leaves no embeddings file either.
        let unwritable = try EmbedCommand.parse(["--checkpoint", checkpoint, "--out", w.path("e.npy"), "--labels-out", "/proc/x"])
        #expect(throws: FileWriteError.self) { try unwritable.execute() }
        #expect(!w.exists("e.npy"))
        // A path under a regular file names it.
        let underFile = try EmbedCommand.parse(["--checkpoint", checkpoint, "--out", w.path("features.npy") + "/e.npy"])
        let e = #expect(throws: FileWriteError.self) { try underFile.execute() }
        #expect(e?.description == "cannot write \(w.path("features.npy"))/e.npy: \(w.path("features.npy")) is a file, not a folder")
        // And the good case writes both.
        _ = try EmbedCommand.parse(["--checkpoint", checkpoint, "--out", w.path("e.npy")]).execute()
        #expect(try NPYArray.read(from: w.path("e.npy")).shape == [36, 4])
        #expect(try NPYArray.read(from: w.path("e_labels.npy")).shape == [36])
    }

    // MARK: Paths and folders

    @Test("An empty class folder is an error naming it, not a held-out class")
    func emptyClassFolder() throws {
        let w = try Workspace(); defer { w.remove() }
        for name in ["a", "b", "c", "d"] {
            try FileManager.default.createDirectory(atPath: w.path("images/\(name)"), withIntermediateDirectories: true)
            if name != "c" { try Data([0]).write(to: URL(fileURLWithPath: w.path("images/\(name)/1.png"))) }
        }
        #expect(throws: DataError(file: w.path("images/c"), "the class folder holds no images (expected .jpg, .jpeg or .png files); remove it or add its images")) {
            try ImageFolderDataset.load(root: w.path("images"))
        }
    }

    @Test("A directory where a .npy file is expected is named as such")
    func directoryForAFile() throws {
        let w = try Workspace(); defer { w.remove() }
        #expect(throws: NPYError(source: w.root, reason: "is a directory, expected a .npy file")) {
            try EvalCommand.parse(["--embeddings", w.root, "--labels", w.path("labels.npy")]).execute()
        }
    }
}
