/// A run-directory file that does not hold what docs/RUN_DIRECTORY.md says: the message names
/// the file (and its line or field) and what was expected.
public struct RunFormatError: Error, CustomStringConvertible, Equatable {
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
