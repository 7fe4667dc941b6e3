import Foundation
import Testing
@testable import DMLTraining

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

@Suite struct JSONConfigurationTests {
    struct Inner: Codable, Equatable { var rate = 0.1; var name = "adam" }
    struct Outer: Codable, Equatable { var steps = 10; var inner = Inner() }

    @Test func fileKeysOverrideDefaultsRecursively() throws {
        let json = Data(#"{"inner": {"rate": 0.5}}"#.utf8)
        let value = try JSONConfiguration.decode(Outer.self, from: json, over: Outer(), source: "c.json")
        #expect(value == Outer(steps: 10, inner: Inner(rate: 0.5, name: "adam")))
    }

    @Test func unknownKeysAndBadTypesNameTheKey() {
        do {
            _ = try JSONConfiguration.decode(Outer.self, from: Data(#"{"inner": {"rat": 1}}"#.utf8), over: Outer(), source: "c.json")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("unknown key \"inner.rat\""))
            #expect("\(error)".contains("c.json"))
        }
        do {
            _ = try JSONConfiguration.decode(Outer.self, from: Data(#"{"steps": "many"}"#.utf8), over: Outer(), source: "c.json")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("steps"))
        }
    }
}
