/// A data file could not be read or does not hold what was expected.
///
/// Every message names the file (and, for text files, the line) and says what was expected, so
/// a user with a damaged or misplaced download knows what to fix.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file or directory concerned.
    public let file: String
    /// The 1-based line number for text files, when the problem is on one line.
    public let line: Int?
    /// What is wrong, and what was expected.
    public let reason: String

    /// An error about `file` (optionally at `line`).
    public init(file: String, line: Int? = nil, _ reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `file:line: reason`, or `file: reason`.
    public var description: String {
        if let line { return "\(file):\(line): \(reason)" }
        return "\(file): \(reason)"
    }
}
