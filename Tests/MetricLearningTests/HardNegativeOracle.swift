import Testing
import DMLNumerics
@testable import MetricLearning

/// The HNPM modes the loss tests run in: mining on the originals, with Embedding Expansion, with
/// Symmetrical Synthesis (adjacent pairing), and EE over all pairs (differs from adjacent at K > 2).
struct HNPMMode: CustomTestStringConvertible, Sendable {
    let name: String
    let synthesis: any EmbeddingSynthesis

    var testDescription: String { name }

    static let all: [HNPMMode] = [
        HNPMMode(name: "hnpm", synthesis: NoSynthesis()),
        HNPMMode(name: "hnpm+ee", synthesis: EmbeddingExpansion()),
        HNPMMode(name: "hnpm+symm", synthesis: SymmetricalSynthesis()),
        HNPMMode(name: "hnpm+ee(all pairs)", synthesis: EmbeddingExpansion(points: 3, pairing: .all)),
    ]
}

/// An independent, brute-force statement of the HNPM rule the losses implement: for every
/// unordered positive pair (i, j) of the originals, the set {i, j} ∪ the members of every group
/// containing i or j, and for every other class c the smallest distance between a member of
/// the set and a point of class c, enumerated pair by pair from coordinates.
struct HardNegativeOracle {
    let pairs: [(i: Int, j: Int)]
    /// `hardest[pair][label]` for every label other than the pair's.
    let hardest: [[Int: Double]]
    /// `D_ij` of every pair.
    let positive: [Double]

    init(_ x: Matrix<Double>, labels: [Int], synthesis: any EmbeddingSynthesis) throws {
        let batch = try synthesis.augment(x, labels: labels)
        func distance(_ a: Int, _ b: Int) -> Double {
            var s = 0.0
            for c in 0..<batch.points.columns { s += (batch.points[a, c] - batch.points[b, c]) * (batch.points[a, c] - batch.points[b, c]) }
            return s.squareRoot()
        }
        var pairs = [(i: Int, j: Int)]()
        for i in 0..<labels.count { for j in (i + 1)..<labels.count where labels[i] == labels[j] { pairs.append((i, j)) } }
        self.pairs = pairs
        positive = pairs.map { distance($0.i, $0.j) }
        hardest = pairs.map { pair in
            var set: Set<Int> = [pair.i, pair.j]
            for group in batch.groups where [pair.i, pair.j].contains(group.pair.first) || [pair.i, pair.j].contains(group.pair.second) {
                set.formUnion(group.members)
            }
            var result = [Int: Double]()
            for p in set {
                for q in 0..<batch.points.rows where batch.labels[q] != labels[pair.i] {
                    result[batch.labels[q]] = min(result[batch.labels[q]] ?? .infinity, distance(p, q))
                }
            }
            return result
        }
    }
}
