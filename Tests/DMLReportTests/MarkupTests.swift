import Foundation
import Testing
import DMLRunDirectory
@testable import DMLReport

@Suite struct MarkupTests {
    @Test func escapesTextAndAttributes() {
        let node = Markup.el("p", [("title", "a \"b\" & 'c' <d>\nx")], text: "1 < 2 & 3 > 2 \u{1}")
        #expect(node.rendered == "<p title=\"a &quot;b&quot; &amp; &#39;c&#39; &lt;d&gt;&#10;x\">1 &lt; 2 &amp; 3 &gt; 2 \u{FFFD}</p>")
        #expect(Markup.el("br").rendered == "<br/>")
        // A non-void HTML element is never self-closed (an HTML parser would leave it open); SVG ones may be.
        #expect(Markup.el("span", [("class", "k")]).rendered == "<span class=\"k\"></span>")
        #expect(Markup.el("svg", [], [.el("rect")]).rendered == "<svg><rect/></svg>")
    }

    @Test func documentIsWellFormedWithDoctypeAndCharset() throws {
        let doc = HTMLDocument(title: "T & <t>", body: [.el("p", text: "ü ∑ <x/>")]).rendered
        #expect(doc.hasPrefix("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\""))
        let xml = try XMLInspector(document: doc)
        #expect(xml.all("meta").first?.attributes["charset"] == "utf-8")
        #expect(xml.all("title").count == 1)
        #expect(xml.text.contains("ü ∑ <x/>"))
    }

    @Test func styleSheetNeedsNoEscaping() {
        // Inside <style> an HTML browser does not decode entities, so the CSS must not contain any.
        #expect(Markup.escapeText(ReportStyle.styleSheet) == ReportStyle.styleSheet)
    }

    @Test func tablesRenderAsMarkdownAndHTML() throws {
        let t = HTMLTable(header: ["a", "b|c"], rows: [["x", "1"]], numericColumns: [1])
        #expect(t.markdown == "| a | b\\|c |\n| --- | ---: |\n| x | 1 |\n")
        let xml = try XMLInspector(document: t.markup.rendered)
        #expect(xml.all("td", class: "number").count == 1)
        #expect(CSVTable(header: ["a", "b"], rows: [["x,y", "say \"hi\""]]).text == "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n")
    }

    @Test func jsonFlatteningAndDisplay() throws {
        let v = try JSONValue.parse(Data(#"{"b": {"c": 1, "a": [1, 2.5]}, "a": true, "n": null, "s": "x"}"#.utf8), source: "t")
        let flat = v.flattened()
        #expect(flat.map(\.key) == ["a", "b.a", "b.c", "n", "s"])
        #expect(flat.map(\.value.displayText) == ["true", "[1, 2.5]", "1", "null", "x"])
        #expect(throws: RunFormatError.self) { try JSONValue.parse(Data("{\"a\": ".utf8), source: "t") }
    }
}
