import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// The four modes every loss runs in (§5 of the spec).
enum LossMode: String, CaseIterable, CustomStringConvertible {
    case plain, hnpm, hnpmExpansion, hnpmSymmetrical

    var description: String { rawValue }

    /// The synthesis of an HNPM mode (nil for plain).
    func synthesis(pairing: PairingRule = .adjacent) -> (any EmbeddingSynthesis)? {
        switch self {
        case .plain: nil
        case .hnpm: NoSynthesis(pairing: pairing)
        case .hnpmExpansion: EmbeddingExpansion(pairing: pairing)
        case .hnpmSymmetrical: SymmetricalSynthesis(pairing: pairing)
        }
    }

    /// The loss in this mode.
    func evaluate<L: HardNegativeMiningLoss, T: BLASScalar>(
        _ loss: L, _ x: Matrix<T>, labels: [Int], pairing: PairingRule = .adjacent
    ) throws -> LossOutput<T> {
        if let synthesis = synthesis(pairing: pairing) {
            return try loss.hardNegativeLoss(x, labels: labels, synthesis: synthesis)
        }
        return try loss.loss(x, labels: labels)
    }
}

/// The hand-computed batch of the value tests: unit vectors, classes 0 and 1 with
/// `x0 = (1, 0), x1 = (0.8, 0.6), x2 = (0, 1), x3 = (0.6, 0.8)`. Its Gram matrix:
/// `S01 = 0.8, S02 = 0, S03 = 0.6, S12 = 0.6, S13 = 0.96, S23 = 0.8`.
let handBatch = (x: Matrix<Double>([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8]]), labels: [0, 0, 1, 1])

/// A batch whose EE points (n = 2, normalized) are hardest: class 0 `x0 = (1, 0), x1 = (0, 1)`
/// with synthetic `x4 = (1, 2)/√5, x5 = (2, 1)/√5`; class 1 `x2 = (0.6, 0.8), x3 = (−0.6, 0.8)`
/// with synthetic `x6 = (−0.2, 0.8)/√0.68, x7 = (0.2, 0.8)/√0.68`. `S01 = 0`, `S23 = 0.28`; the
/// largest similarity between the classes is `S42 = 2.2/√5 ≈ 0.98387` (next: `S47 ≈ 0.976`,
/// `S17 = S16 ≈ 0.970`), so `s⁺(g0, 1) = s⁺(g1, 0) = 2.2/√5`, attained at a synthetic point.
let expansionBatch = (x: Matrix<Double>([[1, 0], [0, 1], [0.6, 0.8], [-0.6, 0.8]]), labels: [0, 0, 1, 1])

/// A batch for Symm (α = 2, β = 1): class 0 `x0 = (1, 0), x1 = (0.6, 0.8)` with mirror images
/// `x4 = 2(0.6)(0.6, 0.8) − x0 = (−0.28, 0.96)`, `x5 = (0.6, −0.8)`; class 1 `x2 = (−1, 0),
/// x3 = (−0.6, −0.8)` with `x6 = (0.28, −0.96)`, `x7 = (−0.6, 0.8)`. `S01 = S23 = 0.6`; across
/// classes the largest similarity is `S47 = S56 = 0.168 + 0.768 = 0.936` (synthetic–synthetic;
/// originals reach at most 0.28).
let symmetricalBatch = (x: Matrix<Double>([[1, 0], [0.6, 0.8], [-1, 0], [-0.6, -0.8]]), labels: [0, 0, 1, 1])

/// The batch with its rows permuted so that each class keeps its internal order (so the
/// adjacent pairs, and the anchor/positive roles, stay the same), and the permutation.
func classOrderPreservingPermutation(labels: [Int], seed: UInt64) -> [Int] {
    let shuffled = BatchFactory.permutation(labels.count, seed: seed)
    // Positions (in the new order) that hold each class, filled with that class's samples in order.
    var queues = [Int: [Int]]()
    for (i, y) in labels.enumerated() { queues[y, default: []].append(i) }
    var used = [Int: Int]()
    return shuffled.map { old in
        let y = labels[old]
        let k = used[y, default: 0]
        used[y] = k + 1
        return queues[y]![k]
    }
}
