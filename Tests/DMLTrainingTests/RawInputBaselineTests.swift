import DMLRunDirectory
import Foundation
import Testing
import DMLNumerics
import DMLData
import DMLEvaluation
@testable import DMLTraining

@Suite struct RawInputBaselineTests {
    /// Six 2-d points: class 0 at (0,0), (0,1), (5,5); class 1 at (5,6), (10,10), (10,11).
    private func sixPoints() throws -> TensorSplit {
        let values: [Float] = [0, 0, 0, 1, 5, 5, 5, 6, 10, 10, 10, 11]
        var x = Matrix<Float>(rows: 6, columns: 2)
        for i in 0..<6 { for j in 0..<2 { x[i, j] = values[2 * i + j] } }
        return try TensorSplit(features: x, labels: [0, 0, 0, 1, 1, 1],
                               classes: [DatasetClass(originalID: 7, name: "seven"), DatasetClass(originalID: 9, name: "nine")],
                               sampleShape: SampleShape(channels: 2, height: 1, width: 1), isImageData: false, source: "test")
    }

    @Test func handComputedLeaveOneOutScoresOfRawFeatures() throws {
        var settings = EvaluationSettings()
        settings.recallKs = [1]
        settings.clustering = false
        let result = try RawInputBaseline.evaluate(try sixPoints(), settings: settings, seed: 0)
        // Nearest other point: (0,0)↔(0,1) and (10,10)↔(10,11) agree, (5,5)↔(5,6) do not: 4/6.
        #expect(abs(result.recall(at: 1)! - 4.0 / 6.0) < 1e-12)
        // R = 2 for every query. (0,0), (0,1), (10,10), (10,11) rank both classmates first: AP@R 1.
        // (5,5) and (5,6) have the other class first, then a classmate: (0 + 1/2) / 2 = 1/4.
        #expect(abs(result.retrieval.mapAtR - (4 + 0.25 + 0.25) / 6) < 1e-12)
        let metrics = Trainer.metrics(of: result)
        #expect(Set(metrics.keys) == ["recall@1", "map@r", "r_precision"])
    }

    @Test func largeImagesAreBlockAveraged() throws {
        // 1×4×4 with at most 4 values: factor 2, block means of 0…15 laid out row-major.
        #expect(RawInputBaseline.poolingFactor(for: SampleShape(channels: 1, height: 4, width: 4), maximumDimension: 4) == 2)
        #expect(RawInputBaseline.poolingFactor(for: SampleShape(channels: 1, height: 28, width: 28)) == 1)
        #expect(RawInputBaseline.poolingFactor(for: SampleShape(channels: 3, height: 227, width: 227)) == 7)
        #expect(RawInputBaseline.poolingFactor(for: SampleShape(channels: 10_000, height: 1, width: 1)) == 1)
        func pooled(side: Int) throws -> [Float] {
            var x = Matrix<Float>(rows: 1, columns: side * side)
            for k in 0..<(side * side) { x[0, k] = Float(k) }
            let split = try TensorSplit(features: x, labels: [0], classes: [DatasetClass(originalID: 0, name: "0")],
                                        sampleShape: SampleShape(channels: 1, height: side, width: side), isImageData: true, source: "t")
            return Array(try RawInputBaseline.inputs(of: split, maximumDimension: 4).row(0))
        }
        #expect(try pooled(side: 4) == [2.5, 4.5, 10.5, 12.5])
        // 3×3 → 2×2 with partial edge blocks: {0,1,3,4}, {2,5}, {6,7}, {8}.
        #expect(try pooled(side: 3) == [2, 3.5, 6.5, 8])
    }

    @Test func runRecordsTheBaselineOnceWithTheFinalMetricsKeys() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("baseline")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var c = smallConfiguration(directory)
        c.iterations = 20
        c.evalEvery = 10
        c.evaluation.clustering = true
        try Trainer(configuration: c, dataset: data).run(progress: false)
        let records = try RunLog.read(from: directory + "/log.jsonl")
        let baselines = records.compactMap { r -> [String: Double]? in if case .baseline(let m, _) = r { m } else { nil } }
        #expect(baselines.count == 1)
        // The log's baseline is the raw test features scored with the run's settings.
        var options = EvaluationOptions(metric: c.evaluation.metric, recallKs: c.evaluation.recallKs, clustering: true)
        options.seed = c.seed
        let expected = try evaluate(embeddings: RawInputBaseline.inputs(of: data.test), labels: data.test.labels, options: options)
        #expect(baselines.first == Trainer.metrics(of: expected))

        // metrics.json: the final metrics, the iteration, and "baseline" with the same metric keys.
        // (Read with the run directory's reader: Foundation's JSONSerialization parser rounds some
        // numbers in the last digit, JSONDecoder reads them exactly.)
        let final = try RunMetrics(contentsOf: directory + "/metrics.json")
        let baseline = try #require(final.baseline)
        #expect(final.iteration == 20)
        let finalKeys = Set(final.metrics.keys)
        #expect(finalKeys == ["recall@1", "recall@2", "recall@4", "recall@8", "map@r", "r_precision", "nmi", "f1"])
        #expect(Set(baseline.keys) == finalKeys)
        #expect(baseline == baselines.first)

        // The class names of the held-out split, in label order.
        let classes = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/embeddings/test_classes.json"))) as? [String: Any])
        let entries = try #require(classes["classes"] as? [[String: Any]])
        #expect(entries.count == 12)
        #expect(entries.first?["name"] as? String == "c24" && entries.first?["original_id"] as? Int == 24 && entries.first?["label"] as? Int == 0)

        // A resumed run keeps the one baseline record and still writes it to metrics.json.
        c.iterations = 30
        try Trainer(configuration: c, dataset: data, resume: true).run(progress: false)
        let resumed = try RunLog.read(from: directory + "/log.jsonl").filter { if case .baseline = $0 { true } else { false } }
        #expect(resumed.count == 1)
        #expect(try RunMetrics(contentsOf: directory + "/metrics.json").baseline == baseline)
    }

    @Test func baselineCanBeTurnedOff() throws {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("nobaseline")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var c = smallConfiguration(directory)
        c.iterations = 10
        c.evalEvery = 10
        c.evaluation.rawInputBaseline = false
        try Trainer(configuration: c, dataset: data).run(progress: false)
        #expect(try RunLog.read(from: directory + "/log.jsonl").allSatisfy { if case .baseline = $0 { false } else { true } })
        let object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/metrics.json"))) as? [String: Any])
        #expect(object["baseline"] == nil)
    }

    @Test func baselineRecordRoundTrips() throws {
        let record = RunLogRecord.baseline(metrics: ["recall@1": 0.75, "map@r": 0.5], elapsedSeconds: 2)
        let line = record.jsonLine()
        #expect(line.contains("\"event\":\"baseline\""))
        #expect(try RunLogRecord.parse(line) == record)
        #expect(record.iteration == 0)
    }
}
