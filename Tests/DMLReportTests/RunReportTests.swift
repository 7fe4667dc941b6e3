import DMLNumerics
import DMLRunDirectory
import Foundation
import Testing
@testable import DMLReport

@Suite struct RunReportTests {
    /// The number of "x,y" pairs of a polyline's points attribute.
    private func pointCount(_ e: XMLInspector.Element) -> Int {
        (e.attributes["points"] ?? "").split(separator: " ").filter { $0.contains(",") }.count
    }

    @Test func reportOfATinyRunHasEverySection() throws {
        let dir = RunFixture.temporaryPath("run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RunFixture.write(to: dir, classes: 5, perClass: 6, steps: 10, evaluations: 3, thumbnailChannels: 1,
                             classNames: ["Ant", "Bee", "Cat", "Dog", "Eel"])
        let path = try RunReport.write(runDirectory: dir)
        #expect(path == dir + "/report.html")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        let xml = try XMLInspector(document: html)
        #expect(xml.all("meta").contains { $0.attributes["charset"] == "utf-8" })
        #expect(!html.contains("<script"))
        // Nothing fetched from the network: the only URIs are the XHTML and SVG namespace names.
        #expect(!html.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http"))
        // Only void HTML elements and SVG shapes are self-closed (`<div/>` would stay open in an HTML parser).
        let selfClosed = try Regex("<([a-z]+)[^<>]*/>")
        let names = Set(html.matches(of: selfClosed).map { String(html[$0.range].dropFirst().prefix { $0.isLetter }) })
        #expect(names.isSubset(of: ["meta", "img", "rect", "line", "circle", "polyline"]), "\(names)")
        let sections = xml.all("section").compactMap { $0.attributes["id"] }
        #expect(sections == ["metrics", "training", "evaluation", "retrieval", "projection", "configuration"])
        // Fractions are shown in percent, the iteration as a count.
        #expect(html.contains("50.00 %"))
        #expect(html.contains(">150<") && !html.contains("15000.00"))

        // Training: a loss chart and a synthetic-fraction chart, one polyline each with 10 points.
        let training = xml.all("polyline", inSection: "training")
        #expect(training.count == 2)
        #expect(training.map(pointCount) == [10, 10])
        #expect(xml.all("svg", inSection: "training").allSatisfy { $0.attributes["xmlns"] == "http://www.w3.org/2000/svg" })
        // Axes with ticks and titles.
        #expect(xml.all("text", class: "tick").count > 10)
        #expect(xml.all("text", class: "axis-title").count >= 8)

        // Evaluation: Recall@1, NMI, F1, MAP@R, each over the 3 evaluations, with a legend of 4 entries.
        let evaluation = xml.all("polyline", inSection: "evaluation")
        #expect(evaluation.map(pointCount) == [3, 3, 3, 3])
        #expect(xml.all("rect", inSection: "evaluation").count >= 4 + 1)

        // Retrieval: 16 queries (30 items) × (query + 8 neighbours) thumbnails as PNG data URIs.
        let images = xml.all("img", inSection: "retrieval")
        #expect(images.count == 16 * 9)
        #expect(images.allSatisfy { $0.attributes["src"]?.hasPrefix("data:image/png;base64,") == true })
        let correct = xml.all("div", class: "correct").count
        let wrong = xml.all("div", class: "wrong").count
        #expect(correct + wrong == 16 * 8)
        #expect(xml.all("div", class: "query").count == 16)
        // Well-separated clusters of 6: most of the 5 same-class neighbours are found first.
        #expect(correct > wrong)

        // Projection: 5 classes × 6 points, one circle each, plus a legend naming the classes.
        #expect(xml.all("circle", inSection: "projection").count == 30)
        #expect(xml.text.contains("Eel"))
        #expect(xml.text.contains("% of variance"))

        // Configuration, flattened, with the escaped value intact.
        #expect(xml.text.contains("optimizer.learningRate"))
        #expect(xml.text.contains("loss.synthesis"))
        #expect(xml.text.contains(RunFixture.markupValue))
        // Final metrics in percent.
        #expect(xml.text.contains("Recall@8"))
        #expect(xml.text.contains("80.00"))
    }

    @Test func reportWithoutThumbnailsUsesLabelledBoxesAndNoSyntheticChart() throws {
        let dir = RunFixture.temporaryPath("plain")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RunFixture.write(to: dir, classes: 3, perClass: 3, steps: 4, evaluations: 2, thumbnailChannels: nil,
                             synthetic: false, mode: "plain")
        let out = dir + "/elsewhere/r.html"
        var options = RunReport.Options()
        options.queryCount = 4
        options.neighbourCount = 3
        try RunReport.write(runDirectory: dir, to: out, options: options)
        let xml = try XMLInspector(document: try String(contentsOfFile: out, encoding: .utf8))
        #expect(xml.all("img").isEmpty)
        #expect(xml.all("div", class: "tile").count == 4 * 4)
        #expect(xml.all("span", inSection: "retrieval").filter { $0.ancestors.last == "div" }.count >= 16)
        #expect(xml.all("polyline", inSection: "training").count == 1)
        #expect(xml.text.contains("synthesizes no points"))
    }

    @Test func rgbThumbnailsAreEncoded() throws {
        let dir = RunFixture.temporaryPath("rgb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RunFixture.write(to: dir, classes: 2, perClass: 3, thumbnailChannels: 3)
        let run = try RunDirectory(path: dir)
        #expect(run.thumbnails?.channels == 3)
        let uri = try run.thumbnails!.dataURI(0)
        let png = try #require(Data(base64Encoded: String(uri.dropFirst("data:image/png;base64,".count))))
        #expect(png.count > 8 && png[png.startIndex + 1] == 0x50)
    }

    @Test func reportOfARunInProgressSaysWhatIsMissing() throws {
        let dir = RunFixture.temporaryPath("progress")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RunFiles(dir).writeConfiguration(RunFixture.configuration(loss: "triplet", mode: "plain", seed: 1, output: dir))
        let html = try RunReport(run: RunDirectory(path: dir)).html()
        let xml = try XMLInspector(document: html)
        #expect(xml.all("svg").isEmpty)
        #expect(xml.text.contains("has not finished"))
        #expect(xml.text.contains("no training steps yet"))
    }

    @Test func badInputNamesTheFileAndLine() throws {
        let dir = RunFixture.temporaryPath("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RunFixture.write(to: dir, classes: 2, perClass: 2)
        try AtomicFile.write("{\"event\": \"step\", \"iteration\": 1, \"loss\": 0.5}\n{\"event\": \"step\", \"loss\": 1}\n",
                             to: dir + "/log.jsonl")
        do {
            _ = try RunDirectory(path: dir)
            Issue.record("expected an error")
        } catch let error as RunFormatError {
            #expect(error.source == dir + "/log.jsonl:2")
            #expect(error.reason.contains("iteration"))
        }
        try AtomicFile.write("not json\n", to: dir + "/log.jsonl")
        #expect(throws: RunFormatError.self) { try RunDirectory(path: dir) }
        try FileManager.default.removeItem(atPath: dir + "/log.jsonl")
        try NPYArray(shape: [3], values: .int64([1, 2, 3])).write(to: dir + "/embeddings/test_labels.npy")
        do {
            _ = try RunDirectory(path: dir)
            Issue.record("expected an error")
        } catch let error as RunFormatError {
            #expect(error.source.hasSuffix("test_labels.npy"))
            #expect(error.reason.contains("3 labels for 4 embeddings"))
        }
        #expect(throws: RunFormatError.self) { try RunDirectory(path: dir + "/nonexistent") }
    }

    @Test func logParsingIgnoresUnknownEventsAndKeys() throws {
        let text = """
        {"event": "step", "iteration": 10, "loss": 0.8, "synthetic_fraction": null, "extra": [1]}
        {"event": "something_new", "iteration": 20}

        {"event": "eval", "iteration": 20, "recall@1": 0.5, "nmi": 0.4, "elapsed_seconds": 3, "note": "x"}
        """
        let log = try RunLog(text: text, source: "log.jsonl")
        #expect(log.steps == [TrainingStepRecord(iteration: 10, epoch: 0, loss: 0.8, syntheticFraction: nil, learningRate: 0,
                                                 imagesPerSecond: 0, elapsedSeconds: 0)])
        #expect(log.evaluations == [EvaluationRecord(iteration: 20, metrics: ["recall@1": 0.5, "nmi": 0.4], elapsedSeconds: 3)])
        let diverged = try RunLog(text: #"{"event": "step", "iteration": 3, "loss": null}"#, source: "l")
        #expect(diverged.steps[0].loss.isNaN)
        #expect(throws: RunFormatError.self) { try RunLog(text: #"{"event": "eval", "iteration": 1e300}"#, source: "l") }
        #expect(throws: RunFormatError.self) { try RunLog(text: #"{"event": "step", "iteration": 1.5, "loss": 1}"#, source: "l") }
        #expect(throws: RunFormatError.self) { try RunLog(text: #"{"event": "step", "iteration": 1, "loss": "x"}"#, source: "l") }
    }
}
