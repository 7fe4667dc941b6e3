/// The distinct classes of a point set as column indices: `classes[c]` is the label of column
/// `c` (ascending), `column[k]` the column of point `k`.
struct ClassColumns: Sendable {
    /// The distinct labels, ascending.
    let classes: [Int]
    /// The column of every point's label.
    let column: [Int]

    /// The columns of `labels`.
    init(labels: [Int]) {
        let classes = Array(Set(labels)).sorted()
        var index = [Int: Int](minimumCapacity: classes.count)
        for (c, label) in classes.enumerated() { index[label] = c }
        self.classes = classes
        self.column = labels.map { index[$0]! }
    }

    /// The number of classes.
    var count: Int { classes.count }
}
