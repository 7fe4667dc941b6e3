import ArgumentParser

/// A comma-separated list of integers on the command line, such as `--k 1,10,100,1000`.
struct IntegerList: ExpressibleByArgument, Equatable {
    /// The integers in the order given.
    var values: [Int]

    /// A list of the given values.
    init(_ values: [Int]) { self.values = values }

    /// Parses `"1,2,4,8"`; spaces around entries are allowed, empty entries are not.
    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count else { return nil }
        self.values = values
    }

    /// The list as it would be typed.
    var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}
