import DMLNumerics
import DMLTestSupport
import Foundation
import Testing
@testable import DMLCommands
import DMLEvaluation

@Suite("dml eval and dml bench eval")
struct EvalCommandTests {
    /// A fresh temporary directory with embeddings and labels of a small C×K batch.
    private func fixture() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dml-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (x, labels) = BatchFactory.batch(classes: 5, perClass: 4, dimension: 6, seed: 8)
        try NPYArray(x.converted(to: Float.self)).write(to: directory.appendingPathComponent("E.npy").path)
        try NPYArray(labels: labels).write(to: directory.appendingPathComponent("y.npy").path)
        return directory
    }

    @Test("Runs on .npy files, prints every key and writes int64 clusters")
    func runs() throws {
        let dir = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clusters = dir.appendingPathComponent("C.npy").path
        let command = try EvalCommand.parse(["--embeddings", dir.appendingPathComponent("E.npy").path,
                                             "--labels", dir.appendingPathComponent("y.npy").path,
                                             "--k", "1,3", "--metric", "cosine", "--clusters-out", clusters, "--seed", "3"])
        let json = try JSONSerialization.jsonObject(with: Data(command.execute().utf8)) as! [String: Any]
        for key in ["recall@1", "recall@3", "map@r", "r_precision", "nmi", "f1"] { #expect(json[key] is Double, "\(key)") }
        #expect(json["metric"] as? String == "cosine")
        let written = try NPYArray.read(from: clusters)
        #expect(written.shape == [20] && written.dtype == .int64)
    }

    @Test("Separate query files; --no-clustering gives null NMI and F1")
    func queryFiles() throws {
        let dir = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let e = dir.appendingPathComponent("E.npy").path, y = dir.appendingPathComponent("y.npy").path
        let command = try EvalCommand.parse(["--embeddings", e, "--labels", y, "--query-embeddings", e,
                                             "--query-labels", y, "--no-clustering", "--k", "1"])
        let json = try JSONSerialization.jsonObject(with: Data(command.execute().utf8)) as! [String: Any]
        #expect(json["recall@1"] as? Double == 1)   // each query finds itself among the references
        #expect(json["nmi"] is NSNull)
    }

    @Test("Bad input fails with a message and writes nothing")
    func badInput() throws {
        let dir = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let e = dir.appendingPathComponent("E.npy").path, clusters = dir.appendingPathComponent("C.npy").path
        let short = dir.appendingPathComponent("short.npy").path
        try NPYArray(labels: [0, 1, 2]).write(to: short)
        let mismatch = try EvalCommand.parse(["--embeddings", e, "--labels", short, "--clusters-out", clusters])
        #expect(throws: EvaluationError.countMismatch(name: "labels", expected: 20, actual: 3)) { try mismatch.execute() }
        let tooLarge = try EvalCommand.parse(["--embeddings", e, "--labels", dir.appendingPathComponent("y.npy").path,
                                              "--k", "1,100", "--clusters-out", clusters])
        #expect(throws: EvaluationError.tooFewReferences(needed: 100, available: 19, reason: "Recall@100")) { try tooLarge.execute() }
        #expect(!FileManager.default.fileExists(atPath: clusters))
        let nan = dir.appendingPathComponent("nan.npy").path
        try NPYArray(Matrix<Float>([[0, .nan]])).write(to: nan)
        let nonFinite = try EvalCommand.parse(["--embeddings", nan, "--labels", short])
        #expect(throws: EvaluationError.nonFinite(name: "embeddings", row: 0, column: 1)) { try nonFinite.execute() }
        // Parsing errors are ArgumentParser's own types: check that the message names the culprit.
        for (arguments, culprit) in [(["--k", "1,,2"], "1,,2"), (["--metric", "manhattan"], "manhattan"),
                                     (["--query-embeddings", e], "--query-labels"), (["--threads", "99999999999"], "--threads"),
                                     (["--threads", "0"], "--threads"), (["--clusters", "0"], "--clusters")] {
            let error = #expect(throws: (any Error).self) { try EvalCommand.parse(["--embeddings", e, "--labels", short] + arguments) }
            let message = error.map { EvalCommand.message(for: $0) } ?? ""
            #expect(message.contains(culprit), "\(arguments): \(message)")
        }
        #expect(throws: NPYError(source: "/nonexistent.npy", reason: "no such file")) {
            try EvalCommand.parse(["--embeddings", "/nonexistent.npy", "--labels", short]).execute()
        }
    }

    @Test("dml bench eval parses its options and rejects bad ones")
    func benchParsing() throws {
        let bench = try BenchEvalCommand.parse(["--sizes", "300", "--clusters", "5", "--k", "1,10", "--dimension", "16"])
        #expect(bench.sizes.values == [300] && bench.clusters.values == [5] && bench.k.values == [1, 10])
        #expect(!bench.searchOnly)
        #expect(try BenchEvalCommand.parse(["--search-only"]).searchOnly)
        for arguments in [["bench", "eval", "--sizes", "10", "--k", "100"], ["bench", "eval", "--threads", "0"]] {
            let error = #expect(throws: (any Error).self) { try DMLCommand.parseAsRoot(arguments) }
            let message = error.map { DMLCommand.message(for: $0) } ?? ""
            #expect(message.contains(arguments.last(where: { $0.hasPrefix("--") })!), "\(arguments): \(message)")
        }
    }
}
