import DMLNumerics

/// Checks shared by every entry point: non-empty, finite embeddings and one label per row.
enum InputValidation {
    /// Throws unless `matrix` has rows and columns, only finite values, and finite row norms.
    static func checkEmbeddings<T: BLASScalar>(_ matrix: Matrix<T>, name: String) throws {
        guard matrix.rows > 0, matrix.columns > 0 else { throw EvaluationError.empty(name: name) }
        if let bad = matrix.firstNonFinite {
            throw EvaluationError.nonFinite(name: name, row: bad.row, column: bad.column)
        }
        if let row = matrix.rowSquaredNorms().firstIndex(where: { !$0.isFinite }) {
            throw EvaluationError.nonFinite(name: name, row: row, column: 0)
        }
    }

    /// Throws unless there is exactly one label per embedding row.
    static func checkLabels(_ labels: [Int], rows: Int, name: String) throws {
        guard labels.count == rows else {
            throw EvaluationError.countMismatch(name: name, expected: rows, actual: labels.count)
        }
    }
}
