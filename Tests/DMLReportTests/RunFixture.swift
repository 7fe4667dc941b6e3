import DMLNumerics
import DMLReport
import Foundation

/// Writes small synthetic training run directories in the format of docs/RUN_DIRECTORY.md.
enum RunFixture {
    /// A fresh temporary directory path (not created).
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("dml-report-tests-\(UInt32.random(in: 0...UInt32.max))-\(name)").path
    }

    /// A run with `classes` × `perClass` test items of dimension `dimension` (Gaussian clusters),
    /// `steps` step records, `evaluations` eval records, final metrics and, optionally, thumbnails.
    static func write(to path: String, classes: Int = 5, perClass: Int = 6, dimension: Int = 4, steps: Int = 10,
                      evaluations: Int = 3, thumbnailChannels: Int? = 1, synthetic: Bool = true,
                      loss: String = "triplet", mode: String = "hnpm+ee", seed: Int = 1) throws {
        let config: JSONValue = .object([
            "loss": .string(loss), "mode": .string(mode), "seed": .number(Double(seed)),
            "optimizer": .object(["name": .string("adam"), "learning_rate": .number(1e-4)]),
            "batch": .object(["classes": .number(4), "per_class": .number(2)]),
            "note": .string("a <b>&\"quoted\" value"),
        ])
        try AtomicFile.write(config.jsonText, to: path + "/config.json")
        var log = ""
        for s in 0..<steps {
            let fraction = synthetic ? "\(0.2 + 0.03 * Double(s))" : "null"
            log += "{\"event\": \"step\", \"iteration\": \(10 * (s + 1)), \"epoch\": 0.1, \"loss\": \(1.0 / Double(s + 1)), \"synthetic_fraction\": \(fraction), \"learning_rate\": 0.0001}\n"
        }
        log += "{\"event\": \"checkpoint\", \"iteration\": 50}\n\n"
        for e in 0..<evaluations {
            let r = 0.3 + 0.1 * Double(e)
            log += "{\"event\": \"eval\", \"iteration\": \(50 * (e + 1)), \"recall@1\": \(r), \"recall@2\": \(r + 0.05), \"recall@4\": \(r + 0.1), \"recall@8\": \(r + 0.15), \"map@r\": \(r / 2), \"r_precision\": \(r / 1.5), \"nmi\": \(r + 0.2), \"f1\": \(r / 3), \"elapsed_seconds\": 1.5}\n"
        }
        try AtomicFile.write(log, to: path + "/log.jsonl")
        let metrics: JSONValue = .object(["recall@1": .number(0.5), "recall@2": .number(0.6), "recall@4": .number(0.7),
                                          "recall@8": .number(0.8), "nmi": .number(0.65), "f1": .number(0.2),
                                          "map@r": .number(0.25), "r_precision": .number(0.33), "iteration": .number(150)])
        try AtomicFile.write(metrics.jsonText, to: path + "/metrics.json")

        var generator = SeededGenerator(seed: 42)
        let n = classes * perClass
        let centres: Matrix<Float> = generator.normalMatrix(rows: classes, columns: dimension, std: 3)
        var embeddings: Matrix<Float> = generator.normalMatrix(rows: n, columns: dimension, std: 0.5)
        var labels = [Int64]()
        for i in 0..<n {
            let c = i % classes
            labels.append(Int64(c * 10))
            for j in 0..<dimension { embeddings[i, j] += centres[c, j] }
        }
        try NPYArray(embeddings).write(to: path + "/embeddings/test_embeddings.npy")
        try NPYArray(shape: [n], values: .int64(labels)).write(to: path + "/embeddings/test_labels.npy")
        if let channels = thumbnailChannels {
            let pixels = (0..<(n * 8 * 8 * channels)).map { UInt8(($0 * 7) % 256) }
            try NPYArray(shape: [n, 8, 8, channels], values: .uint8(pixels)).write(to: path + "/embeddings/test_thumbnails.npy")
        }
    }
}
