/// The samples of each class of a batch, as one flat index list (no array of arrays).
///
/// Classes are numbered densely in order of first appearance; the members of class `c` are
/// `indices[start[c]..<start[c + 1]]`, in ascending batch order.
struct ClassMembers {
    /// The dense class number of every sample.
    let classOf: [Int]
    /// Offsets of each class's members in `indices`; `start.count == classCount + 1`.
    let start: [Int]
    /// Sample indices grouped by class, ascending inside a class.
    let indices: [Int]

    /// Groups the samples of `labels` by class in O(B).
    init(_ labels: [Int]) {
        var number = [Int: Int]()
        var classOf = [Int](repeating: 0, count: labels.count)
        var sizes = [Int]()
        for (i, y) in labels.enumerated() {
            let c = number[y] ?? { number[y] = sizes.count; sizes.append(0); return sizes.count - 1 }()
            classOf[i] = c
            sizes[c] += 1
        }
        var start = [Int](repeating: 0, count: sizes.count + 1)
        for c in 0..<sizes.count { start[c + 1] = start[c] + sizes[c] }
        var next = Array(start.dropLast())
        var indices = [Int](repeating: 0, count: labels.count)
        for i in 0..<labels.count {
            indices[next[classOf[i]]] = i
            next[classOf[i]] += 1
        }
        self.classOf = classOf
        self.start = start
        self.indices = indices
    }

    /// The number of distinct classes.
    var classCount: Int { start.count - 1 }

    /// The members of sample `i`'s class (including `i`), ascending.
    func members(ofClassOf i: Int) -> ArraySlice<Int> {
        let c = classOf[i]
        return indices[start[c]..<start[c + 1]]
    }
}
