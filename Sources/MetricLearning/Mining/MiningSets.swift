/// The point sets over which hardest negative pairs are mined, stored compactly (CSR): set `s`
/// holds `members[offsets[s]..<offsets[s + 1]]`, ascending indices into an augmented set, all of
/// class `labels[s]`.
///
/// Three constructions, all reducing to the groups of §5 with one positive pair per class (K = 2):
/// - `groups(of:)`: one set per group (generating pair plus its synthetic points) — `d⁻(g, c)`.
/// - `pairs(_:in:)`: for a loss term on a positive pair `(i, j)`: `{i, j}` ∪ every group that
///   contains `i` or `j`. When `(i, j)` generated a group and neither sample is in another
///   group (always the case with `adjacent` pairing), this is exactly that group.
/// - `anchors(_:in:)`: for a term on an anchor `i` (multi-similarity): `{i}` ∪ every group that
///   contains `i` — the union of the anchor's groups, or `{i}` alone if it is in none (the odd
///   sample left over by `adjacent` pairing).
public struct MiningSets: Sendable, Equatable {
    /// `count + 1` offsets into `members`.
    public let offsets: [Int]
    /// The members of every set, set after set, ascending within a set.
    public let members: [Int]
    /// The class of every set (the class all its members share).
    public let labels: [Int]

    /// The number of sets.
    public var count: Int { labels.count }

    /// The members of set `s`, ascending.
    public func members(of s: Int) -> ArraySlice<Int> {
        members[offsets[s]..<offsets[s + 1]]
    }

    /// Sets from explicit member lists (each made ascending and duplicate-free) and their classes.
    public init(sets: [[Int]], labels: [Int]) {
        precondition(sets.count == labels.count, "one label per mining set")
        var offsets = [0]
        var members = [Int]()
        for set in sets {
            members.append(contentsOf: Array(Set(set)).sorted())
            offsets.append(members.count)
        }
        self.offsets = offsets
        self.members = members
        self.labels = labels
    }

    /// One set per group of `batch`: `d⁻(g, c)` of §5.
    public static func groups<T>(of batch: AugmentedBatch<T>) -> MiningSets {
        MiningSets(sets: batch.groups.map(\.members), labels: batch.groups.map(\.pair.label))
    }

    /// One set per loss pair `(i, j)`: `{i, j}` ∪ the groups of `batch` containing `i` or `j`.
    public static func pairs<T>(_ pairs: [PositivePair], in batch: AugmentedBatch<T>) -> MiningSets {
        let containing = groupsContaining(batch)
        let sets = pairs.map { pair in
            [pair.first, pair.second] + (containing[pair.first] + containing[pair.second]).flatMap { batch.groups[$0].members }
        }
        return MiningSets(sets: sets, labels: pairs.map(\.label))
    }

    /// One set per anchor `i` (an original): `{i}` ∪ the groups of `batch` containing `i`.
    public static func anchors<T>(_ anchors: [Int], in batch: AugmentedBatch<T>) -> MiningSets {
        let containing = groupsContaining(batch)
        let sets = anchors.map { i in [i] + containing[i].flatMap { batch.groups[$0].members } }
        return MiningSets(sets: sets, labels: anchors.map { batch.labels[$0] })
    }

    /// For every original, the indices of the groups whose pair contains it.
    private static func groupsContaining<T>(_ batch: AugmentedBatch<T>) -> [[Int]] {
        var containing = [[Int]](repeating: [], count: batch.originalCount)
        for (g, group) in batch.groups.enumerated() {
            containing[group.pair.first].append(g)
            containing[group.pair.second].append(g)
        }
        return containing
    }
}
