import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
import MetricLearning
@testable import DMLCommands

/// `dml loss` run in-process: arguments parsed, command executed, JSON and files checked.
@Suite struct LossCommandTests {
    /// A fresh directory with X (float32 and float64) and y of a 4×2 batch.
    final class Workspace {
        let directory: String
        let x: Matrix<Double>
        let labels: [Int]

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("dml-loss-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 5, seed: 3, normalized: true)
            try NPYArray(x).write(to: path("X64.npy"))
            try NPYArray(x.converted(to: Float.self)).write(to: path("X32.npy"))
            try NPYArray(labels: labels).write(to: path("y.npy"))
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func path(_ name: String) -> String { directory + "/" + name }

        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

        /// Parses `arguments` (after `--embeddings X --labels y`) and runs the command.
        func run(_ arguments: [String], embeddings: String = "X64.npy", labels: String = "y.npy") throws -> LossCommand.Report {
            let command = try LossCommand.parse(["--embeddings", path(embeddings), "--labels", path(labels)] + arguments)
            return try command.execute()
        }
    }

    static let modes: [(mining: String, synthesis: String)] = [("plain", "none"), ("hnpm", "none"), ("hnpm", "ee"), ("hnpm", "symm")]

    @Test(arguments: LossKind.allCases)
    func everyLossAndModeMatchesTheLibraryInBothPrecisions(kind: LossKind) throws {
        let w = try Workspace()
        for mode in Self.modes {
            let configuration = LossConfiguration(kind: kind, mining: MiningMode(rawValue: mode.mining)!,
                                                  synthesis: SynthesisKind(rawValue: mode.synthesis)!)
            let expected = try configuration.evaluate(w.x, labels: w.labels)
            let args = ["--loss", kind.rawValue, "--mining", mode.mining, "--synthesis", mode.synthesis, "--grad-out", w.path("G.npy")]

            let report = try w.run(args)
            #expect(report.loss == expected.value)
            #expect(report.syntheticFraction == expected.syntheticFraction)
            #expect(report.dtype == "float64" && report.rows == 8 && report.dimension == 5)
            let g = try NPYArray.read(from: w.path("G.npy"))
            #expect(g.dtype == .float64 && g.shape == [8, 5])
            #expect(try g.matrix(as: Double.self) == expected.gradient)

            let single = try w.run(args, embeddings: "X32.npy")
            let g32 = try NPYArray.read(from: w.path("G.npy"))
            #expect(single.dtype == "float32" && g32.dtype == .float32 && g32.shape == [8, 5])
            #expect(abs(single.loss - expected.value) < 1e-4 * max(1, abs(expected.value)))
            #expect(try g32.matrix(as: Double.self).maxAbsDifference(expected.gradient) < 1e-4)
        }
    }

    @Test func jsonHasLossAndNullSyntheticFraction() throws {
        let w = try Workspace()
        let plain = try w.run(["--loss", "triplet"]).json
        let object = try #require(try JSONSerialization.jsonObject(with: Data(plain.utf8)) as? [String: Any])
        #expect(object["loss"] is Double)
        #expect(object["synthetic_fraction"] is NSNull)
        #expect(!plain.contains("\n"))
        let mined = try w.run(["--loss", "triplet", "--mining", "hnpm", "--synthesis", "symm"]).json
        let minedObject = try #require(try JSONSerialization.jsonObject(with: Data(mined.utf8)) as? [String: Any])
        #expect(minedObject["synthetic_fraction"] is Double)
    }

    @Test func optionsReachTheConfiguration() throws {
        let command = try LossCommand.parse([
            "--embeddings", "X", "--labels", "y", "--loss", "triplet", "--mining", "hnpm", "--synthesis", "ee",
            "--margin", "0.3", "--squared", "--triplets", "semihard", "--reduction", "nonzero", "--n-points", "3",
            "--pairs", "all", "--detach-synthetic",
        ])
        let c = try command.lossConfiguration()
        #expect(c.triplet == TripletLoss(margin: 0.3, squared: true, selection: .semihard, reduction: .nonzero))
        #expect(c.expansion.points == 3 && c.expansion.detach && c.pairing == .all)
        let ms = try LossCommand.parse([
            "--embeddings", "X", "--labels", "y", "--loss", "multisimilarity",
            "--ms-alpha", "3", "--ms-beta", "40", "--ms-base", "0.4", "--ms-epsilon", "0.2", "--no-ms-miner",
        ]).lossConfiguration().multiSimilarity
        #expect(ms == MultiSimilarityLoss(alpha: 3, beta: 40, lambda: 0.4, epsilon: 0.2, mining: false))
        let symm = try LossCommand.parse([
            "--embeddings", "X", "--labels", "y", "--loss", "angular", "--angle", "40", "--mining", "hnpm",
            "--synthesis", "symm", "--symm-alpha", "1.5", "--symm-beta", "0.9",
        ]).lossConfiguration()
        #expect(symm.angular.degrees == 40 && symm.symmetrical.alpha == 1.5 && symm.symmetrical.beta == 0.9)
        #expect(try LossCommand.parse(["--embeddings", "X", "--labels", "y", "--loss", "npair", "--npair-lambda", "0.01"])
            .lossConfiguration().npair.l2Penalty == 0.01)
    }

    /// The open-question options (issue 15) reach the configuration.
    @Test func openQuestionOptionsReachTheConfiguration() throws {
        let ee = try LossCommand.parse([
            "--embeddings", "X", "--labels", "y", "--loss", "lifted", "--mining", "hnpm", "--synthesis", "ee",
            "--n-points", "8", "--ee-adaptive-spacing", "0.25", "--synthesis-axis", "class-mean",
            "--negative-classes", "16", "--sampling-seed", "4", "--memory-synthesis",
        ]).lossConfiguration()
        #expect(ee.expansion == EmbeddingExpansion(points: 8, adaptiveSpacing: 0.25, axis: .classMean))
        #expect(ee.negativeClasses == 16 && ee.samplingSeed == 4 && ee.memorySynthesis)
        let symm = try LossCommand.parse([
            "--embeddings", "X", "--labels", "y", "--loss", "npair", "--mining", "hnpm", "--synthesis", "symm",
            "--symm-alpha", "2.5", "--symm-schedule", "linear", "--symm-final-alpha", "1.5", "--symm-final-beta", "0.8",
        ]).lossConfiguration().symmetrical
        #expect(symm == SymmetricalSynthesis(alpha: 2.5, schedule: .linear, finalAlpha: 1.5, finalBeta: 0.8))
        // The sampled loss runs end to end and differs from the full one on this 4-class batch.
        let w = try Workspace()
        let full = try w.run(["--loss", "lifted", "--mining", "hnpm"])
        let sampled = try w.run(["--loss", "lifted", "--mining", "hnpm", "--negative-classes", "1"])
        #expect(full.loss != sampled.loss)
    }

    @Test func marginDefaultsFollowTheLoss() throws {
        let w = try Workspace()
        for (kind, margin) in [(LossKind.contrastive, 1.0), (.triplet, 0.2), (.lifted, 1.0)] {
            let report = try w.run(["--loss", kind.rawValue])
            let explicit = try w.run(["--loss", kind.rawValue, "--margin", "\(margin)"])
            #expect(report.loss == explicit.loss)
        }
    }

    @Test(arguments: [
        ["--loss", "hinge"],
        ["--loss", "triplet", "--mining", "fancy"],
        ["--loss", "triplet", "--triplets", "easy"],
        ["--loss", "triplet", "--synthesis", "ee"],                      // synthesis without hnpm
        ["--loss", "npair", "--margin", "1"],                            // option of another loss
        ["--loss", "lifted", "--squared"],
        ["--loss", "lifted", "--mining", "hnpm", "--n-points", "3"],      // EE option without EE
        ["--loss", "lifted", "--pairs", "all"],                          // pairing without hnpm
        ["--loss", "triplet", "--margin", "abc"],
        ["--loss", "lifted", "--mining", "hnpm", "--synthesis", "symm", "--ee-adaptive-spacing", "0.3"],
        ["--loss", "lifted", "--mining", "hnpm", "--synthesis-axis", "class-mean"],
        ["--loss", "lifted", "--mining", "hnpm", "--synthesis", "ee", "--symm-schedule", "linear"],
        ["--loss", "lifted", "--negative-classes", "4"],                  // sampling without hnpm
        ["--loss", "lifted", "--mining", "hnpm", "--sampling-seed", "3"],  // seed without sampling
        ["--loss", "lifted", "--mining", "hnpm", "--memory-synthesis"],    // memory synthesis without EE/Symm
        ["--loss", "lifted", "--mining", "hnpm", "--synthesis", "ee", "--synthesis-axis", "middle"],
    ])
    func badOptionsAreRejectedAtParsing(arguments: [String]) {
        let error = #expect(throws: (any Error).self) { try LossCommand.parse(["--embeddings", "X", "--labels", "y"] + arguments) }
        // The message names the offending option (or value): the last option given, or its bad value.
        let message = error.map { LossCommand.message(for: $0) } ?? ""
        let culprit = arguments.count == 2 || ["fancy", "easy", "abc", "middle"].contains(arguments.last!)
            ? arguments.last! : String(arguments.last(where: { $0.hasPrefix("--") })!.dropFirst(2))
        #expect(message.contains(culprit), "\(arguments): \(message)")
    }

    @Test func badInputFailsWithAClearMessageAndWritesNothing() throws {
        let w = try Workspace()
        try "not an array".write(toFile: w.path("text.npy"), atomically: true, encoding: .utf8)
        try NPYArray(shape: [8, 5], values: .int32(Array(repeating: 1, count: 40))).write(to: w.path("int.npy"))
        try NPYArray(labels: [0, 0, 1]).write(to: w.path("short.npy"))
        try NPYArray(labels: Array(0..<8)).write(to: w.path("distinct.npy"))
        try NPYArray(labels: Array(repeating: 4, count: 8)).write(to: w.path("single.npy"))
        var nan = w.x
        nan[2, 3] = .nan
        try NPYArray(nan).write(to: w.path("nan.npy"))
        try NPYArray(shape: [40], values: .float64(Array(repeating: 1, count: 40))).write(to: w.path("flat.npy"))
        try "0,1".write(toFile: w.path("labels.txt"), atomically: true, encoding: .utf8)
        try NPYArray(Matrix<Float>(rows: 8, columns: 5) { i, j in (i + j) % 2 == 0 ? 3e38 : -3e38 }).write(to: w.path("huge.npy"))

        let cases: [(embeddings: String, labels: String, loss: String, message: String)] = [
            ("missing.npy", "y.npy", "triplet", "missing.npy"),
            ("text.npy", "y.npy", "triplet", "text.npy"),
            ("X64.npy", "labels.txt", "triplet", "labels.txt"),
            ("int.npy", "y.npy", "triplet", "float32 or float64"),
            ("flat.npy", "y.npy", "triplet", "2-D"),
            ("X64.npy", "short.npy", "triplet", "3 labels"),
            ("nan.npy", "y.npy", "lifted", "row 2, column 3"),
            ("X64.npy", "distinct.npy", "contrastive", "no positive pair"),
            ("X32.npy", "distinct.npy", "npair", "no positive pair"),
            ("X64.npy", "single.npy", "multisimilarity", "single class"),
            ("huge.npy", "y.npy", "contrastive", "non-finite"),
        ]
        for c in cases {
            let error = #expect(throws: (any Error).self) {
                try w.run(["--loss", c.loss, "--grad-out", w.path("G.npy")], embeddings: c.embeddings, labels: c.labels)
            }
            let message = error.map { String(describing: $0) } ?? ""
            #expect(message.contains(c.message), "\(message)")
            #expect(!w.exists("G.npy"))
        }
    }
}
