/// A list of integer lists in one buffer (CSR): list `r` is `values[offsets[r]..<offsets[r + 1]]`.
/// The losses use it for the entries (negatives, positives) of each of their terms.
struct IndexLists: Sendable {
    /// `count + 1` offsets into `values`.
    private(set) var offsets: [Int] = [0]
    /// All lists, one after the other.
    private(set) var values: [Int] = []

    /// An empty collection with room for `lists` lists of `values` values in all.
    init(reservingLists lists: Int = 0, values: Int = 0) {
        offsets.reserveCapacity(lists + 1)
        self.values.reserveCapacity(values)
    }

    /// The number of closed lists.
    var count: Int { offsets.count - 1 }

    /// The length of the longest list.
    var longest: Int { (0..<count).reduce(0) { Swift.max($0, offsets[$1 + 1] - offsets[$1]) } }

    /// Appends a value to the open list.
    @inline(__always)
    mutating func append(_ value: Int) { values.append(value) }

    /// Closes the open list (possibly empty) and starts the next.
    @inline(__always)
    mutating func closeList() { offsets.append(values.count) }
}
