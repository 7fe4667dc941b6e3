import DMLNumerics
import DMLRunDirectory
import DMLTraining
import Foundation
import MetricLearning

/// Writes small synthetic run directories with the writer `dml train` uses (`RunFiles`,
/// `RunLog`, `RunMetrics` of DMLRunDirectory, and a real `TrainingConfiguration` as
/// `config.json`), so the report is tested on the format training actually writes.
enum RunFixture {
    /// A fresh temporary directory path (not created).
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("dml-report-tests-\(UInt32.random(in: 0...UInt32.max))-\(name)").path
    }

    /// A string with markup characters, stored in `dataset.root` so the report's escaping is seen.
    static let markupValue = "a <b>&\"quoted\" value"

    /// The metrics of an evaluation whose Recall@1 is `r`: Recall@{1,2,4,8} = r + {0, .05, .1, .15},
    /// MAP@R r/2, R-precision r/1.5, NMI r + .2, F1 r/3.
    static func metrics(recallAt1 r: Double) -> [String: Double] {
        ["recall@1": r, "recall@2": r + 0.05, "recall@4": r + 0.1, "recall@8": r + 0.15,
         "map@r": r / 2, "r_precision": r / 1.5, "nmi": r + 0.2, "f1": r / 3]
    }

    /// The final metrics of `metrics.json`.
    static let finalMetrics = ["recall@1": 0.5, "recall@2": 0.6, "recall@4": 0.7, "recall@8": 0.8, "nmi": 0.65, "f1": 0.2,
                               "map@r": 0.25, "r_precision": 0.33]

    /// The training configuration of a run of `loss` in `mode` (a standard mode name) with `seed`.
    static func configuration(loss: String, mode: String, seed: Int, output: String) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.loss.kind = LossKind(rawValue: loss)!
        let (mining, synthesis) = RunIdentity.miningAndSynthesis(ofMode: mode)!
        c.loss.mining = MiningMode(rawValue: mining)!
        c.loss.synthesis = SynthesisKind(rawValue: synthesis)!
        c.seed = UInt64(seed)
        c.output = output
        c.dataset.root = markupValue
        return c
    }

    /// A run with `classes` × `perClass` test items (labels 0..<classes) of dimension `dimension`
    /// (Gaussian clusters): the start record, `baseline` and `untrained` records when given, `steps`
    /// step records (every 10 iterations), `evaluations` eval records (every 50, Recall@1 0.3, 0.4, …),
    /// and, when `finished`, the final embeddings, class names (`classNames`, or the label as
    /// text), thumbnails (`thumbnailChannels`, nil for none) and `metrics.json` at iteration 150
    /// (`finalMetrics`, with `baseline`).
    static func write(to path: String, classes: Int = 5, perClass: Int = 6, dimension: Int = 4, steps: Int = 10,
                      evaluations: Int = 3, thumbnailChannels: Int? = 1, synthetic: Bool = true,
                      loss: String = "triplet", mode: String = "hnpm+ee", seed: Int = 1,
                      baseline: [String: Double]? = nil, untrained: [String: Double]? = nil,
                      classNames: [String]? = nil, finished: Bool = true) throws {
        let files = RunFiles(path)
        try AtomicFile.createDirectory(files.file("checkpoints"))
        try AtomicFile.createDirectory(files.file("embeddings"))
        try files.writeConfiguration(configuration(loss: loss, mode: mode, seed: seed, output: path))

        var log = RunLog(path: files.file(RunFiles.log))
        log.append(.start(processes: 1))
        if let baseline { log.append(.baseline(metrics: baseline, elapsedSeconds: 0.5)) }
        if let untrained { log.append(.evaluation(iteration: 0, metrics: untrained, elapsedSeconds: 0)) }
        for s in 0..<steps {
            log.append(.step(TrainingStepRecord(iteration: 10 * (s + 1), epoch: 0.1, loss: 1.0 / Double(s + 1),
                                                syntheticFraction: synthetic ? 0.2 + 0.03 * Double(s) : nil,
                                                learningRate: 0.0001, imagesPerSecond: 100, elapsedSeconds: Double(s))))
        }
        for e in 0..<evaluations {
            log.append(.evaluation(iteration: 50 * (e + 1), metrics: metrics(recallAt1: 0.3 + 0.1 * Double(e)), elapsedSeconds: 1.5))
        }
        try log.flush()
        guard finished else { return }

        var generator = SeededGenerator(seed: 42)
        let n = classes * perClass
        let centres: Matrix<Float> = generator.normalMatrix(rows: classes, columns: dimension, std: 3)
        var embeddings: Matrix<Float> = generator.normalMatrix(rows: n, columns: dimension, std: 0.5)
        var labels = [Int]()
        for i in 0..<n {
            let c = i % classes
            labels.append(c)
            for j in 0..<dimension { embeddings[i, j] += centres[c, j] }
        }
        let thumbnails = thumbnailChannels.map { channels in
            NPYArray(shape: [n, 8, 8, channels], values: .uint8((0..<(n * 8 * 8 * channels)).map { UInt8(($0 * 7) % 256) }))
        }
        let names = classNames ?? (0..<classes).map { "\($0)" }
        try files.writeTestEmbeddings(embeddings, labels: labels, thumbnails: thumbnails,
                                      classes: names.enumerated().map { ($0.offset + 5, $0.element) })
        try files.writeMetrics(RunMetrics(metrics: finalMetrics, iteration: 150, baseline: baseline))
    }
}
