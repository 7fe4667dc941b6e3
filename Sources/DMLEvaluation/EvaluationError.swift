/// Why an evaluation could not be computed. Every case names the input at fault and what was
/// expected, so the message can be shown to a user as it is.
public enum EvaluationError: Error, Equatable, CustomStringConvertible {
    /// A matrix has no rows or no columns.
    case empty(name: String)
    /// An element is NaN or infinite (or a row norm overflows the scalar type).
    case nonFinite(name: String, row: Int, column: Int)
    /// Two inputs that must agree in size do not.
    case countMismatch(name: String, expected: Int, actual: Int)
    /// Queries and references have different embedding dimensions.
    case dimensionMismatch(queries: Int, references: Int)
    /// A row has zero length, so its cosine similarity is undefined.
    case zeroNorm(name: String, row: Int)
    /// More neighbours are needed than there are references to rank.
    case tooFewReferences(needed: Int, available: Int, reason: String)
    /// No query has a relevant reference, so every retrieval metric is undefined.
    case noRelevantReferences
    /// An option is out of its valid range.
    case invalidOption(name: String, reason: String)

    /// A one-line explanation naming the input and what was expected.
    public var description: String {
        switch self {
        case .empty(let name):
            return "\(name) is empty: expected at least one row and one column"
        case .nonFinite(let name, let row, let column):
            return "\(name) has a NaN or infinite value at row \(row), column \(column) (or a row whose squared norm overflows)"
        case .countMismatch(let name, let expected, let actual):
            return "\(name) has \(actual) entries, expected \(expected) (one per embedding row)"
        case .dimensionMismatch(let q, let r):
            return "query embeddings have dimension \(q) but reference embeddings have dimension \(r)"
        case .zeroNorm(let name, let row):
            return "\(name) row \(row) has zero length: cosine similarity is undefined for it"
        case .tooFewReferences(let needed, let available, let reason):
            return "\(reason) needs \(needed) neighbours per query but only \(available) references can be ranked"
        case .noRelevantReferences:
            return "no query has another item of its class among the references: Recall@K, MAP@R and R-precision are undefined"
        case .invalidOption(let name, let reason):
            return "invalid option \(name): \(reason)"
        }
    }
}
