/// A table of text cells rendered as an HTML `<table>`, with numeric columns right-aligned.
public struct HTMLTable: Sendable {
    /// The column headers.
    public var header: [String]
    /// The rows of cells.
    public var rows: [[String]]
    /// The columns (by index) that hold numbers.
    public var numericColumns: Set<Int>

    /// A table with the given header, rows and numeric columns.
    public init(header: [String], rows: [[String]], numericColumns: Set<Int> = []) {
        self.header = header
        self.rows = rows
        self.numericColumns = numericColumns
    }

    /// The `<table>` element.
    public var markup: Markup {
        let head = Markup.el("thead", [], [.el("tr", [], header.map { .el("th", text: $0) })])
        let body = Markup.el("tbody", [], rows.map { row in
            .el("tr", [], row.enumerated().map { i, cell in
                .el("td", numericColumns.contains(i) ? [("class", "number")] : [], text: cell)
            })
        })
        return .el("table", [], [head, body])
    }

    /// The table in GitHub-flavoured Markdown (`|` in cells escaped as `\|`).
    public var markdown: String {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
        }
        let rule = "|" + header.indices.map { numericColumns.contains($0) ? " ---: |" : " --- |" }.joined()
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}
