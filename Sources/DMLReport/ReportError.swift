/// Bad input to a report or a summary: the message names the file (and line or field) and
/// what was expected.
public struct ReportError: Error, CustomStringConvertible, Equatable {
    /// The file, `file:line`, or `file: field` that is wrong.
    public let source: String
    /// What is wrong and what was expected.
    public let reason: String

    /// An error about `source`.
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    /// `source: reason`.
    public var description: String { "\(source): \(reason)" }
}
