import DMLNumerics
import DMLRunDirectory
import Foundation
import Testing
@testable import DMLReport

/// The raw-input baseline and the class names in run reports and experiment summaries.
@Suite struct BaselineReportTests {
    /// A fixture run (5 classes with labels 0, 10, …, 40) with an iteration-0 evaluation, a
    /// baseline record in the log and in metrics.json, and class names.
    private func runWithBaseline(_ dir: String, names: Bool = true, finished: Bool = true) throws {
        let baseline = ["recall@1": 0.4, "recall@2": 0.45, "recall@4": 0.5, "recall@8": 0.55, "map@r": 0.125, "r_precision": 0.2,
                        "nmi": 0.3, "f1": 0.1]
        let untrained = ["recall@1": 0.35, "recall@2": 0.4, "recall@4": 0.45, "recall@8": 0.5, "map@r": 0.1, "r_precision": 0.15,
                         "nmi": 0.25, "f1": 0.05]
        try RunFixture.write(to: dir, classes: 5, perClass: 6, steps: 10, evaluations: 3, thumbnailChannels: 1,
                             baseline: baseline, untrained: untrained,
                             classNames: ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], finished: finished)
        if !names {
            // As in a run written before test_classes.json existed.
            try FileManager.default.removeItem(atPath: dir + "/embeddings/test_classes.json")
        }
    }

    /// The text of one `<section id=…>` of a report, parsed on its own.
    private func sectionText(_ html: String, _ id: String) throws -> String {
        let start = try #require(html.range(of: "<section id=\"\(id)\">"))
        let end = try #require(html.range(of: "</section>", range: start.upperBound..<html.endIndex))
        return try XMLInspector(document: String(html[start.lowerBound..<end.upperBound])).text
    }

    @Test func reportShowsBaselineBesideIterationZeroAndFinal() throws {
        let dir = RunFixture.temporaryPath("baseline")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runWithBaseline(dir)
        let run = try RunDirectory(path: dir)
        #expect(run.baseline?["recall@1"] == 0.4 && run.baseline?.count == 8)
        #expect(run.metrics?["baseline"] == nil, "the nested object is not a metric")
        #expect(run.log.evaluations.first?.iteration == 0 && run.log.evaluations.count == 4)
        let html = try RunReport(run: run).html()
        let xml = try XMLInspector(document: html)
        // Metrics table: metric, raw inputs, iteration 0, final, and the two gains in points.
        let metrics = try sectionText(html, "metrics")
        #expect(metrics.contains("raw inputs (baseline)") && metrics.contains("iteration 0 (untrained)"))
        #expect(metrics.contains("Recall@1") && metrics.contains("40.00 %") && metrics.contains("35.00 %") && metrics.contains("50.00 %"))
        #expect(metrics.contains("+10.00") && metrics.contains("+15.00"))   // Recall@1 over raw inputs and over iteration 0
        #expect(metrics.contains("+12.50"))                                  // MAP@R 0.25 over raw 0.125
        // The gain stated in one sentence.
        #expect(metrics.contains("Recall@1 50.00 %: +10.00 points over the raw inputs (40.00 %), +15.00 over iteration 0 (35.00 %)"))
        #expect(metrics.contains("MAP@R 25.00 %: +12.50 points over the raw inputs (12.50 %)"))
        // Evaluation chart: 4 metric curves over the 4 evaluations and one dashed reference line per metric.
        let references = xml.all("line", inSection: "evaluation").filter { $0.attributes["class"] == "reference" }
        #expect(references.count == 4)
        #expect(references.allSatisfy { $0.attributes["stroke-dasharray"] != nil && $0.attributes["y1"] == $0.attributes["y2"] })
        #expect(Set(references.compactMap { $0.attributes["y1"] }).count == 4)
        #expect(try sectionText(html, "evaluation").contains("Recall@1 raw inputs"))
    }

    @Test func referenceLinesSitAtTheBaselineValues() throws {
        // y = 0 and y = 1 bound the axis (yInclude 0…1): the line at 0.25 is a quarter of the way up.
        var chart = LineChart(title: "t", xTitle: "x", yTitle: "y", series: [.init(name: "a", points: [(0, 0), (1, 1)])],
                              yInclude: 0...1)
        chart.references = [.init(name: "raw", y: 0.25)]
        let xml = try XMLInspector(document: chart.svg.rendered)
        let line = try #require(xml.all("line").first { $0.attributes["class"] == "reference" })
        let frame = ChartFrame(width: chart.size.width, height: chart.size.height)
        var reserved = frame
        reserved.reserveLegend([("a", "#000"), ("raw", "#000")])
        let y0 = reserved.yRange.0, y1 = reserved.yRange.1
        #expect(abs(Double(line.attributes["y1"]!)! - (y0 + 0.25 * (y1 - y0))) < 0.01)
        #expect(line.attributes["x1"] == ChartFrame.coordinate(frame.xRange.0))
    }

    @Test func reportNamesClassesInTheRetrievalGridAndTheProjection() throws {
        let dir = RunFixture.temporaryPath("names")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runWithBaseline(dir)
        let html = try RunReport.write(runDirectory: dir)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let xml = try XMLInspector(document: page)
        let names = ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        // Every tile's tooltip and image text name its class; every query and neighbour caption too.
        let tiles = xml.all("div", inSection: "retrieval").filter { ($0.attributes["class"] ?? "").hasPrefix("tile") }
        #expect(tiles.count == 16 * 9)
        #expect(tiles.allSatisfy { t in names.contains { t.attributes["title"]!.contains(", \($0) (label ") } })
        #expect(xml.all("img", inSection: "retrieval").allSatisfy { img in names.contains { img.attributes["alt"]!.hasSuffix($0) } })
        #expect(xml.all("div", class: "class-name").count == 16 * 9)
        let retrieval = try sectionText(page, "retrieval")
        #expect(!retrieval.contains("class 1"))
        // The projection legend: the five names, no "class <label>".
        let projection = try sectionText(page, "projection")
        for name in names { #expect(projection.contains(name)) }
        #expect(!projection.contains("class 0") && !projection.contains("class 4"))
    }

    @Test func withoutNamesOrBaselineTheReportSaysSo() throws {
        let dir = RunFixture.temporaryPath("nonames")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RunFixture.write(to: dir, classes: 3, perClass: 3, steps: 2, evaluations: 2)
        try FileManager.default.removeItem(atPath: dir + "/embeddings/test_classes.json")
        let html = try RunReport(run: RunDirectory(path: dir)).html()
        #expect(try sectionText(html, "projection").contains("class 2"))
        #expect(try sectionText(html, "metrics").contains("No raw-input baseline"))
        #expect(try XMLInspector(document: html).all("line", inSection: "evaluation").allSatisfy { $0.attributes["class"] != "reference" })
    }

    @Test func runInProgressShowsTheLoggedBaseline() throws {
        let dir = RunFixture.temporaryPath("inprogress")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runWithBaseline(dir, finished: false)
        let run = try RunDirectory(path: dir)
        #expect(run.metrics == nil && run.baseline?["map@r"] == 0.125)
        let text = try sectionText(try RunReport(run: run).html(), "metrics")
        #expect(text.contains("Raw test inputs (baseline): Recall@1 40.00 %"))
    }

    @Test func badClassFileAndBaselineNameTheField() throws {
        let dir = RunFixture.temporaryPath("badnames")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runWithBaseline(dir)
        try AtomicFile.write("{\"classes\": [{\"label\": 0, \"name\": \"a\"}, {\"label\": 1.5, \"name\": \"b\"}]}",
                             to: dir + "/embeddings/test_classes.json")
        do {
            _ = try RunDirectory(path: dir)
            Issue.record("expected an error")
        } catch let error as RunFormatError {
            #expect(error.source.hasSuffix("test_classes.json: classes[1].label"))
        }
        try AtomicFile.write("{\"classes\": [{\"label\": 0, \"name\": \"a\"}, {\"label\": 0, \"name\": \"b\"}]}",
                             to: dir + "/embeddings/test_classes.json")
        #expect(throws: RunFormatError.self) { try RunDirectory(path: dir) }
        try FileManager.default.removeItem(atPath: dir + "/embeddings/test_classes.json")
        try AtomicFile.write("{\"recall@1\": 0.5, \"baseline\": 3}", to: dir + "/metrics.json")
        do {
            _ = try RunDirectory(path: dir)
            Issue.record("expected an error")
        } catch let error as RunFormatError {
            #expect(error.source.hasSuffix("metrics.json: field \"baseline\""))
        }
    }

    @Test func summaryGainsTheRawInputRow() throws {
        let baseline = ["recall@1": 0.4, "nmi": 0.3, "map@r": 0.125]
        let runs = [1, 2].flatMap { seed in
            [RunResult(identity: RunIdentity(loss: "lifted", mode: "plain", seed: seed), metrics: ["recall@1": 0.5, "nmi": 0.4, "map@r": 0.2],
                       baseline: baseline),
             RunResult(identity: RunIdentity(loss: "lifted", mode: "hnpm+ee", seed: seed), metrics: ["recall@1": 0.6, "nmi": 0.45, "map@r": 0.25],
                       baseline: baseline)]
        }
        let s = try ExperimentSummary(runs: runs)
        #expect(s.rawInputRunCount == 4 && abs(s.rawInputStatistics!["recall@1"]!.mean - 0.4) < 1e-12)
        let last = try #require(s.statisticsTable.rows.last)
        #expect(last == ["raw inputs", "baseline", "4", "40.00 ± 0.00", "30.00 ± 0.00", "12.50 ± 0.00"])
        #expect(s.markdown.contains("| raw inputs | baseline | 4 | 40.00 ± 0.00 |"))
        let csvRow = try #require(s.csv.split(separator: "\n").last).split(separator: ",", omittingEmptySubsequences: false)
        #expect(csvRow.prefix(4) == ["raw inputs", "baseline", "4", ""] && csvRow.count == 4 + 2 * 3)
        #expect(abs(Double(csvRow[8])! - 0.125) < 1e-12 && abs(Double(csvRow[9])!) < 1e-12)
        #expect(s.html.contains("raw inputs"))
        // Runs without a baseline: no such row.
        let without = try ExperimentSummary(runs: runs.map { RunResult(identity: $0.identity, metrics: $0.metrics) })
        #expect(without.rawInputStatistics == nil && without.statisticsTable.rows.count == 2)
        #expect(without.markdown.contains("No run recorded raw-input baseline metrics."))
    }

    @Test func resultReadsTheBaselineOfMetricsJSON() throws {
        let dir = RunFixture.temporaryPath("result")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runWithBaseline(dir)
        let result = try RunResult(runDirectory: dir)
        #expect(result.baseline?["map@r"] == 0.125 && result.metrics["baseline"] == nil && result.metrics["recall@1"] == 0.5)
    }
}
