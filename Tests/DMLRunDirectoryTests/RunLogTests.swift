import DMLNumerics
import Foundation
import Testing
@testable import DMLRunDirectory

@Suite struct RunLogTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runlog-\(UInt32.random(in: 0...UInt32.max))").path

    @Test func recordsRoundTripThroughJSONLines() throws {
        let step = TrainingStepRecord(iteration: 3, epoch: 0.5, loss: 1.25, syntheticFraction: nil, learningRate: 1e-4,
                                      imagesPerSecond: 100, elapsedSeconds: 2)
        let line = RunLogRecord.step(step).jsonLine()
        #expect(line.contains("\"synthetic_fraction\":null"))
        #expect(line.contains("\"event\":\"step\""))
        #expect(try RunLogRecord.parse(line) == .step(step))
        let eval = RunLogRecord.evaluation(iteration: 4, metrics: ["recall@1": 0.5, "nmi": 0.25], elapsedSeconds: 3)
        #expect(try RunLogRecord.parse(eval.jsonLine()) == eval)
        #expect(try RunLogRecord.parse("{\"event\": \"future\", \"x\": 1}") == nil)
        let nan = RunLogRecord.evaluation(iteration: 1, metrics: ["nmi": .nan], elapsedSeconds: 0).jsonLine()
        #expect(nan.contains("\"nmi\":null"))
    }

    @Test func resumingCutsTheLogBackToTheCheckpoint() throws {
        let path = "\(directory)/log.jsonl"
        var log = RunLog(path: path)
        for i in 1...6 {
            log.append(.step(TrainingStepRecord(iteration: i, epoch: 0, loss: Double(i), syntheticFraction: 0.5,
                                                learningRate: 0.1, imagesPerSecond: 1, elapsedSeconds: 0)))
        }
        try log.flush()
        let resumed = try RunLog.resuming(path: path, upTo: 4)
        #expect(resumed.records.map(\.iteration) == [1, 2, 3, 4])
        #expect(try RunLog.read(from: path).count == 6)
    }
}

/// The one rule for missing and mistyped fields of `log.jsonl` (`RunLogRecord.parse`).
@Suite struct RunLogFieldRuleTests {
    private func parse(_ line: String) throws -> RunLogRecord? { try RunLogRecord.parse(line, source: "log.jsonl:7") }

    private func error(_ line: String) -> RunFormatError? {
        do { _ = try parse(line); return nil } catch { return error as? RunFormatError }
    }

    @Test func optionalFieldsTakeTheirDocumentedDefaults() throws {
        #expect(try parse(#"{"event": "start"}"#) == .start(processes: 1))
        // A NaN loss never compares equal, so the step is checked field by field.
        guard case .step(let s)? = try parse(#"{"event": "step", "iteration": 5, "loss": null}"#) else {
            Issue.record("expected a step"); return
        }
        #expect(s.iteration == 5 && s.loss.isNaN && s.epoch == 0 && s.learningRate == 0 && s.imagesPerSecond == 0
                && s.elapsedSeconds == 0 && s.syntheticFraction == nil && s.embeddingSpread == nil)
        guard case .collapse(let c)? = try parse(#"{"event": "collapse", "iteration": 9}"#) else {
            Issue.record("expected a collapse"); return
        }
        #expect(c.began == 9 && c.criterion == "spread" && c.spread.isNaN && c.initialSpread.isNaN && c.loss.isNaN && c.collapseLoss.isNaN)
        #expect(try parse(#"{"event": "eval", "iteration": 3, "nmi": 0.5, "note": "x", "elapsed_seconds": 2}"#)
            == .evaluation(iteration: 3, metrics: ["nmi": 0.5], elapsedSeconds: 2))
        #expect(try parse(#"{"event": "baseline", "recall@1": 0.25}"#) == .baseline(metrics: ["recall@1": 0.25], elapsedSeconds: 0))
        #expect(try parse("   ") == nil)
        #expect(try parse(#"{"event": "checkpoint", "iteration": "any"}"#) == nil)
    }

    @Test func requiredFieldsAndWrongTypesAreErrorsNamingTheLine() {
        for line in [#"{"iteration": 1}"#, #"{"event": "step", "loss": 1}"#, #"{"event": "step", "iteration": 1}"#,
                     #"{"event": "eval"}"#, #"{"event": "collapse", "began": 3}"#, #"{"event": "eval", "iteration": 2.5}"#,
                     #"{"event": "eval", "iteration": 1e300}"#, #"{"event": "step", "iteration": 1, "loss": "x"}"#,
                     #"{"event": "step", "iteration": 1, "loss": 1, "epoch": true}"#, #"{"event": "start", "processes": 1.5}"#,
                     #"{"event": "collapse", "iteration": 1, "criterion": 3}"#, "[1, 2]", "not json"] {
            let e = error(line)
            #expect(e?.source == "log.jsonl:7", "\(line)")
        }
        #expect(error(#"{"event": "eval", "iteration": 2.5}"#)?.reason.contains("iteration") == true)
    }

    @Test func textErrorsSayTheLineNumber() {
        #expect(throws: RunFormatError(source: "f:3", reason: "field \"iteration\" must be an integer")) {
            try RunLog(text: "{\"event\": \"start\", \"processes\": 1}\n\n{\"event\": \"eval\"}\n", source: "f")
        }
    }
}

/// `metrics.json` and `test_classes.json` through their writer and reader.
@Suite struct RunMetricsTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runmetrics-\(UInt32.random(in: 0...UInt32.max))").path

    @Test func metricsRoundTripExactly() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Values whose shortest decimal form has 17 digits (a parser that rounds loses them).
        let awkward = ["recall@1": 0.36090225563909784, "r_precision": 0.34523809523809507, "nmi": 1.0 / 3, "f1": 0.1 + 0.2]
        let metrics = RunMetrics(metrics: awkward, iteration: 42, baseline: ["recall@1": 2.0 / 3])
        try RunFiles(directory).writeMetrics(metrics)
        #expect(try RunMetrics(contentsOf: directory + "/metrics.json") == metrics)
        #expect(metrics.numericMembers["iteration"] == 42)
        try AtomicFile.write(#"{"recall@1": 0.5, "iteration": 1.5}"#, to: directory + "/metrics.json")
        #expect(throws: RunFormatError.self) { try RunMetrics(contentsOf: directory + "/metrics.json") }
    }

    @Test func classNamesRoundTrip() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try AtomicFile.write(TestClassList.encoded([(5, "Sandal"), (7, "a/b \"c\"")]), to: directory + "/classes.json")
        #expect(try TestClassList.names(contentsOf: directory + "/classes.json") == [0: "Sandal", 1: "a/b \"c\""])
    }
}
