/// The point sets over which hardest negative pairs are mined, stored compactly (CSR): set `s`
/// holds `members[offsets[s]..<offsets[s + 1]]`, ascending indices into an augmented set, all of
/// class `labels[s]`.
///
/// Three constructions, all reducing to the groups of §5 with one positive pair per class (K = 2):
/// - `groups(of:)`: one set per group (generating pair plus its synthetic points, or with the
///   class-mean axis a class's originals plus theirs) — `d⁻(g, c)`.
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
        self.init(offsets: offsets, members: members, labels: labels)
    }

    private init(offsets: [Int], members: [Int], labels: [Int]) {
        self.offsets = offsets
        self.members = members
        self.labels = labels
    }

    /// One set per group of `batch`: `d⁻(g, c)` of §5.
    public static func groups<T>(of batch: AugmentedBatch<T>) -> MiningSets {
        var offsets = [0]
        var members = [Int]()
        offsets.reserveCapacity(batch.groups.count + 1)
        for group in batch.groups {
            members.append(contentsOf: group.members)  // already ascending and distinct
            offsets.append(members.count)
        }
        return MiningSets(offsets: offsets, members: members, labels: batch.groups.map(\.label))
    }

    /// One set per loss pair `(i, j)`: `{i, j}` ∪ the groups of `batch` containing `i` or `j`.
    public static func pairs<T>(_ pairs: [PositivePair], in batch: AugmentedBatch<T>) -> MiningSets {
        unions(of: pairs.map { ($0.first, $0.second) }, labels: pairs.map(\.label), in: batch)
    }

    /// One set per anchor `i` (an original): `{i}` ∪ the groups of `batch` containing `i`.
    public static func anchors<T>(_ anchors: [Int], in batch: AugmentedBatch<T>) -> MiningSets {
        unions(of: anchors.map { ($0, $0) }, labels: anchors.map { batch.labels[$0] }, in: batch)
    }

    /// For every seed `(i, j)` of originals: `{i, j}` ∪ every group containing `i` or `j`, ascending
    /// and duplicate-free (a stamp per point instead of a hash set).
    private static func unions<T>(of seeds: [(Int, Int)], labels: [Int], in batch: AugmentedBatch<T>) -> MiningSets {
        // The groups containing each original, as offsets into one list.
        var start = [Int](repeating: 0, count: batch.originalCount + 1)
        for group in batch.groups {
            for original in group.originals { start[original + 1] += 1 }
        }
        for i in 0..<batch.originalCount { start[i + 1] += start[i] }
        var containing = [Int](repeating: 0, count: start[batch.originalCount])
        var next = start
        for (g, group) in batch.groups.enumerated() {
            for original in group.originals {
                containing[next[original]] = g
                next[original] += 1
            }
        }
        var stamp = [Int](repeating: -1, count: batch.points.rows)
        var scratch = [Int]()
        var offsets = [0]
        var members = [Int]()
        offsets.reserveCapacity(seeds.count + 1)
        for (s, (i, j)) in seeds.enumerated() {
            scratch.removeAll(keepingCapacity: true)
            func add(_ point: Int) {
                if stamp[point] != s {
                    stamp[point] = s
                    scratch.append(point)
                }
            }
            func addGroups(of seed: Int) {
                add(seed)
                for k in start[seed]..<start[seed + 1] { batch.groups[containing[k]].members.forEach(add) }
            }
            addGroups(of: i)
            if j != i { addGroups(of: j) }
            scratch.sort()
            members.append(contentsOf: scratch)
            offsets.append(members.count)
        }
        return MiningSets(offsets: offsets, members: members, labels: labels)
    }
}
