import DMLNumerics
import DMLReport
import DMLRunDirectory
import Foundation
import Testing

/// The report's warning for a run whose embeddings collapsed (a `collapse` record of
/// `log.jsonl`, written by training).
@Suite struct CollapseWarningTests {
    @Test func aCollapseRecordBecomesAWarningAtTheTop() throws {
        let path = RunFixture.temporaryPath("collapse")
        try RunFixture.write(to: path)
        let healthy = try RunReport(run: RunDirectory(path: path)).html()
        #expect(!healthy.contains("collapse-warning"))
        let log = try String(contentsOfFile: path + "/log.jsonl", encoding: .utf8)
            + #"{"began":41,"collapse_loss":0.2,"criterion":"spread","event":"collapse","initial_spread":0.31,"iteration":140,"loss":0.2004,"spread":0.0041}"# + "\n"
        try AtomicFile.write(log, to: path + "/log.jsonl")
        let run = try RunDirectory(path: path)
        #expect(run.log.collapses == [CollapseRecord(iteration: 140, began: 41, criterion: "spread", spread: 0.0041,
                                                    initialSpread: 0.31, loss: 0.2004, collapseLoss: 0.2)])
        let html = try RunReport(run: run).html()
        #expect(html.contains("id=\"collapse-warning\""))
        #expect(html.contains("the embeddings collapsed from iteration 41 (detected at iteration 140)"))
        // Above the metrics, so it is seen first.
        let warning = try #require(html.range(of: "collapse-warning")), metrics = try #require(html.range(of: "id=\"metrics\""))
        #expect(warning.lowerBound < metrics.lowerBound)
    }

    @Test func aCollapseRecordWithoutIterationNamesTheLine() throws {
        #expect(throws: RunFormatError.self) { try RunLog(text: #"{"event":"collapse","began":3}"#, source: "log.jsonl") }
    }
}
