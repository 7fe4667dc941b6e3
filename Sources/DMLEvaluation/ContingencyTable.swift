/// The sparse contingency table of a clustering `Ω` against classes `C` over the same `N`
/// items: `n_kc` (items in cluster `k` and class `c`), the cluster sizes `n_k` and the class
/// sizes `n_c`. Only non-zero cells are stored (at most `N`), so `K × C` may be huge.
struct ContingencyTable {
    /// The number of items `N`.
    let total: Int
    /// The non-zero `n_kc`, in (cluster, class) order.
    let cells: [Int]
    /// `n_k` for every non-empty cluster, in cluster order.
    let clusterSizes: [Int]
    /// `n_c` for every class, in class order.
    let classSizes: [Int]

    init(clusters: [Int], classes: [Int]) {
        precondition(clusters.count == classes.count, "one cluster and one class per item")
        total = clusters.count
        cells = Self.runLengths(zip(clusters, classes).map { Pair(cluster: $0, label: $1) }.sorted())
        clusterSizes = Self.runLengths(clusters.sorted())
        classSizes = Self.runLengths(classes.sorted())
    }

    private struct Pair: Comparable {
        let cluster: Int
        let label: Int
        static func < (a: Pair, b: Pair) -> Bool { (a.cluster, a.label) < (b.cluster, b.label) }
    }

    /// The lengths of the runs of equal values in a sorted array.
    private static func runLengths<E: Equatable>(_ sorted: [E]) -> [Int] {
        guard !sorted.isEmpty else { return [] }
        var lengths = [Int]()
        var start = 0
        for i in 1..<sorted.count where sorted[i] != sorted[i - 1] {
            lengths.append(i - start)
            start = i
        }
        lengths.append(sorted.count - start)
        return lengths
    }
}
