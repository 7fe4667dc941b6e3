/// A table written as RFC 4180 CSV: comma-separated, fields holding a comma, a quote or a line
/// break are quoted with `"` and inner quotes doubled; lines end with `\n`.
public struct CSVTable: Sendable {
    /// The column names.
    public var header: [String]
    /// The rows.
    public var rows: [[String]]

    /// A table.
    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// The CSV text.
    public var text: String {
        ([header] + rows).map { $0.map(CSVTable.field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// One field, quoted when needed.
    public static func field(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A number in full precision (shortest round-trip form), empty when not finite.
    public static func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : ""
    }
}
