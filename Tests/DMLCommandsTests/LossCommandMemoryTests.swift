import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
import MetricLearning
@testable import DMLCommands

/// `dml loss --memory-embeddings M --memory-labels L`: the library's loss with that memory.
@Suite struct LossCommandMemoryTests {
    @Test(arguments: LossKind.allCases)
    func memoryOptionsReachTheLoss(kind: LossKind) throws {
        let w = try LossCommandTests.Workspace()
        let (m, y) = BatchFactory.batch(classes: 5, perClass: 2, dimension: 5, seed: 8, normalized: true)
        try NPYArray(m.converted(to: Float.self)).write(to: w.path("M32.npy"))
        try NPYArray(labels: y).write(to: w.path("L.npy"))
        // The float32 memory is converted to the precision of X (float64 here).
        let memory = try MemoryPoints(embeddings: m.converted(to: Float.self).converted(to: Double.self), labels: y)
        for mode in LossCommandTests.modes {
            let configuration = LossConfiguration(kind: kind, mining: MiningMode(rawValue: mode.mining)!,
                                                  synthesis: SynthesisKind(rawValue: mode.synthesis)!)
            let expected = try configuration.evaluate(w.x, labels: w.labels, memory: memory)
            let without = try configuration.evaluate(w.x, labels: w.labels)
            let report = try w.run(["--loss", kind.rawValue, "--mining", mode.mining, "--synthesis", mode.synthesis,
                                    "--memory-embeddings", w.path("M32.npy"), "--memory-labels", w.path("L.npy"),
                                    "--grad-out", w.path("G.npy")])
            #expect(report.loss == expected.value)
            // (The triplet loss, margin 0.2, is 0 on this well-separated batch with or without memory.)
            if kind != .triplet { #expect(report.loss != without.value, "\(kind) \(mode): the memory had no effect") }
            #expect(try NPYArray.read(from: w.path("G.npy")).matrix(as: Double.self) == expected.gradient)
        }
    }

    @Test func badMemoryInputFailsWithAClearMessage() throws {
        let w = try LossCommandTests.Workspace()
        try NPYArray(Matrix<Double>(rows: 3, columns: 4)).write(to: w.path("M4.npy"))
        try NPYArray(labels: [0, 1, 2]).write(to: w.path("L3.npy"))
        try NPYArray(labels: [0, 1]).write(to: w.path("L2.npy"))
        var bad = Matrix<Double>(rows: 3, columns: 5)
        bad[1, 2] = .nan
        try NPYArray(bad).write(to: w.path("Mnan.npy"))
        let base = ["--loss", "contrastive", "--grad-out", w.path("G.npy")]
        func message(_ m: String, _ l: String) -> String {
            do {
                _ = try w.run(base + ["--memory-embeddings", w.path(m), "--memory-labels", w.path(l)])
                return ""
            } catch { return "\(error)" }
        }
        #expect(message("M4.npy", "L3.npy").contains("M4.npy") && message("M4.npy", "L3.npy").contains("N × 5"))
        try NPYArray(Matrix<Double>(rows: 3, columns: 5)).write(to: w.path("M5.npy"))
        #expect(message("M5.npy", "L2.npy").contains("L2.npy has 2 labels"))
        #expect(message("Mnan.npy", "L3.npy").contains("row 1, column 2"))
        #expect(!w.exists("G.npy"))
        let half = #expect(throws: (any Error).self) {
            try LossCommand.parse(["--embeddings", "X", "--labels", "y", "--loss", "npair", "--memory-labels", "L.npy"])
        }
        #expect(half.map { LossCommand.message(for: $0) }?.contains("--memory-embeddings") == true,
                "\(half.map { LossCommand.message(for: $0) } ?? "")")
    }
}
