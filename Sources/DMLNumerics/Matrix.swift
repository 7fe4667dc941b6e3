/// A dense row-major matrix over one contiguous buffer.
///
/// Element `(i, j)` is stored at `elements[i * columns + j]`. A batch of `B` embeddings of
/// dimension `d` is a `B × d` matrix whose rows are the embeddings. The storage is an `Array`,
/// so copies are cheap until one of them is written (copy on write).
public struct Matrix<Scalar: BLASScalar>: Equatable, Sendable, Codable {
    /// The number of rows.
    public let rows: Int
    /// The number of columns.
    public let columns: Int
    /// The row-major storage.
    @usableFromInline var storage: [Scalar]

    /// The elements in row-major order; `elements.count == rows * columns`.
    @inlinable public var elements: [Scalar] { storage }

    /// A `rows × columns` matrix with every element equal to `value`.
    @inlinable
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        self.storage = Array(repeating: value, count: rows * columns)
    }

    /// A `rows × columns` matrix over the given row-major elements.
    @inlinable
    public init(rows: Int, columns: Int, elements: [Scalar]) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative")
        precondition(elements.count == rows * columns,
                     "Matrix \(rows)×\(columns) needs \(rows * columns) elements, got \(elements.count)")
        self.rows = rows
        self.columns = columns
        self.storage = elements
    }

    /// A matrix whose element `(i, j)` is `value(i, j)`.
    @inlinable
    public init(rows: Int, columns: Int, _ value: (_ row: Int, _ column: Int) -> Scalar) {
        var elements = [Scalar]()
        elements.reserveCapacity(rows * columns)
        for i in 0..<rows {
            for j in 0..<columns { elements.append(value(i, j)) }
        }
        self.init(rows: rows, columns: columns, elements: elements)
    }

    /// A matrix whose rows are the given equal-length arrays (convenient in tests).
    public init(_ rowArrays: [[Scalar]]) {
        let columns = rowArrays.first?.count ?? 0
        precondition(rowArrays.allSatisfy { $0.count == columns }, "Rows must have equal lengths")
        self.init(rows: rowArrays.count, columns: columns, elements: rowArrays.flatMap { $0 })
    }

    /// The `n × n` identity matrix.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    /// `rows · columns`.
    @inlinable public var count: Int { storage.count }

    /// Element `(row, column)`.
    @inlinable
    public subscript(row: Int, column: Int) -> Scalar {
        get { storage[row * columns + column] }
        set { storage[row * columns + column] = newValue }
    }

    /// Row `i` as a new array.
    @inlinable
    public func row(_ i: Int) -> [Scalar] {
        Array(storage[(i * columns)..<((i + 1) * columns)])
    }

    /// Replaces row `i`.
    @inlinable
    public mutating func setRow(_ i: Int, _ values: [Scalar]) {
        precondition(values.count == columns, "Row has \(values.count) values, expected \(columns)")
        storage.replaceSubrange((i * columns)..<((i + 1) * columns), with: values)
    }

    /// Calls `body` with a pointer to the row-major elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with a mutable pointer to the row-major elements.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }

    /// The same elements seen with another shape of equal size.
    public func reshaped(rows: Int, columns: Int) -> Matrix {
        Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// `Aᵀ`.
    @inlinable
    public var transposed: Matrix {
        var t = Matrix(rows: columns, columns: rows)
        storage.withUnsafeBufferPointer { src in
            t.storage.withUnsafeMutableBufferPointer { dst in
                for i in 0..<rows {
                    for j in 0..<columns { dst[j * rows + i] = src[i * columns + j] }
                }
            }
        }
        return t
    }

    /// The matrix with every element converted to another scalar type.
    @inlinable
    public func converted<Other: BLASScalar>(to _: Other.Type = Other.self) -> Matrix<Other> {
        Matrix<Other>(rows: rows, columns: columns, elements: elements.map { Other($0) })
    }

    /// The rows at the given indices, in that order.
    @inlinable
    public func gatheringRows(_ indices: [Int]) -> Matrix {
        var out = Matrix(rows: indices.count, columns: columns)
        storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    precondition(i >= 0 && i < rows, "Row index \(i) out of range 0..<\(rows)")
                    for j in 0..<columns { dst[r * columns + j] = src[i * columns + j] }
                }
            }
        }
        return out
    }

    /// `‖x_i‖²` for every row `i`.
    @inlinable
    public func rowSquaredNorms() -> [Scalar] {
        var norms = [Scalar](repeating: 0, count: rows)
        storage.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            for i in 0..<rows {
                let r = base + i * columns
                norms[i] = Scalar.dot(n: columns, x: r, incx: 1, y: r, incy: 1)
            }
        }
        return norms
    }

    /// Whether every element is finite (no NaN, no ±Inf).
    public var isFinite: Bool { elements.allSatisfy { $0.isFinite } }

    /// The (row, column) of the first element that is NaN or infinite, if any.
    @inlinable
    public var firstNonFinite: (row: Int, column: Int)? {
        let k: Int? = storage.withUnsafeBufferPointer { p in
            for k in 0..<p.count where !p[k].isFinite { return k }
            return nil
        }
        guard let k else { return nil }
        return (k / Swift.max(columns, 1), k % Swift.max(columns, 1))
    }

    /// The largest `|a_ij − b_ij|` (for comparisons in tests and checks).
    public func maxAbsDifference(_ other: Matrix) -> Scalar {
        precondition(rows == other.rows && columns == other.columns, "Shape mismatch")
        var m: Scalar = 0
        for k in 0..<storage.count { m = Swift.max(m, Swift.abs(storage[k] - other.storage[k])) }
        return m
    }

    /// `A + B`, elementwise.
    public static func + (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns, "Shape mismatch in +")
        return Matrix(rows: a.rows, columns: a.columns, elements: zip(a.elements, b.elements).map(+))
    }

    /// `A − B`, elementwise.
    public static func - (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns, "Shape mismatch in -")
        return Matrix(rows: a.rows, columns: a.columns, elements: zip(a.elements, b.elements).map(-))
    }

    /// `s · A`.
    @inlinable
    public static func * (s: Scalar, a: Matrix) -> Matrix {
        Matrix(rows: a.rows, columns: a.columns, elements: a.elements.map { s * $0 })
    }

    /// `A += B`, elementwise (BLAS axpy).
    public static func += (a: inout Matrix, b: Matrix) {
        a.add(b, scaledBy: 1)
    }

    /// `A ← A + s·B` (BLAS axpy).
    public mutating func add(_ b: Matrix, scaledBy s: Scalar) {
        precondition(rows == b.rows && columns == b.columns, "Shape mismatch in add")
        let n = count
        guard n > 0 else { return }
        b.storage.withUnsafeBufferPointer { x in
            storage.withUnsafeMutableBufferPointer { y in
                Scalar.axpy(n: n, alpha: s, x: x.baseAddress!, incx: 1, y: y.baseAddress!, incy: 1)
            }
        }
    }
}

extension Matrix: CustomStringConvertible {
    /// A readable rendering, one line per row (for small matrices).
    public var description: String {
        var lines = ["Matrix<\(Scalar.self)> \(rows)×\(columns)"]
        for i in 0..<Swift.min(rows, 8) {
            let values = (0..<Swift.min(columns, 8)).map { "\(self[i, $0])" }
            lines.append("  [" + values.joined(separator: ", ") + (columns > 8 ? ", …]" : "]"))
        }
        if rows > 8 { lines.append("  …") }
        return lines.joined(separator: "\n")
    }
}
