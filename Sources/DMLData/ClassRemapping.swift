/// Turns original class ids into labels `0..<C` (in increasing id order) for one split.
struct ClassRemapping {
    /// The classes of the split, `classes[label]`.
    let classes: [DatasetClass]
    private let labelOf: [Int: Int]

    /// The remapping of the distinct ids in `ids`; `name(id)` gives each class's name.
    init(ids: some Sequence<Int>, name: (Int) -> String) {
        let sorted = Set(ids).sorted()
        classes = sorted.map { DatasetClass(originalID: $0, name: name($0)) }
        labelOf = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
    }

    /// The label of original class `id` (which must be one of the split's classes).
    func label(of id: Int) -> Int { labelOf[id]! }
}
