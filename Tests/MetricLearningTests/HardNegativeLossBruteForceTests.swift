import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// HNPM forms without synthesis on C×2 batches (one pair per class) against a direct
/// enumeration of every negative pair of every group.
@Suite struct HardNegativeLossBruteForceTests {
    private func dot(_ x: Matrix<Double>, _ i: Int, _ j: Int) -> Double {
        (0..<x.columns).reduce(0) { $0 + x[i, $1] * x[j, $1] }
    }

    /// `max_{p ∈ {i, j}, n: y_n = c} x_p·x_n` by enumeration.
    private func hardest(_ x: Matrix<Double>, _ labels: [Int], _ i: Int, _ j: Int, _ c: Int) -> Double {
        var best = -Double.infinity
        for p in [i, j] { for n in 0..<x.rows where labels[n] == c { best = max(best, dot(x, p, n)) } }
        return best
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func matchEnumeration(seed: UInt64) throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 3, seed: seed, normalized: seed != 2)
        let classes = Array(Set(labels)).sorted()
        let pairs = (0..<4).map { (2 * $0, 2 * $0 + 1) }
        var npair = 0.0, angular = 0.0, multiSimilarity = 0.0
        for (i, j) in pairs {
            let others = classes.filter { $0 != labels[i] }
            npair += log(1 + others.reduce(0) { $0 + exp(hardest(x, labels, i, j, $1) - dot(x, i, j)) })
            angular += log(1 + others.reduce(0) { sum, c in
                let best = (0..<x.rows).filter { labels[$0] == c }.map { dot(x, i, $0) + dot(x, j, $0) }.max()!
                return sum + exp(4 * best - 4 * dot(x, i, j))
            })
            for _ in [i, j] {  // both anchors share the pair's positive and group
                multiSimilarity += 0.5 * log(1 + exp(-2 * (dot(x, i, j) - 0.5)))
                multiSimilarity += 0.02 * log(1 + others.reduce(0) { $0 + exp(50 * (hardest(x, labels, i, j, $1) - 0.5)) })
            }
        }
        let squaredNorms = (0..<x.rows).reduce(0) { $0 + dot(x, $1, $1) }
        npair = npair / 4 + 0.002 * squaredNorms / 8
        let none = NoSynthesis()
        #expect(abs(try NPairLoss().hardNegativeLoss(x, labels: labels, synthesis: none).value - npair) < 1e-12)
        #expect(abs(try AngularLoss().hardNegativeLoss(x, labels: labels, synthesis: none).value - angular / 4) < 1e-12)
        #expect(abs(try MultiSimilarityLoss().hardNegativeLoss(x, labels: labels, synthesis: none).value
            - multiSimilarity / 8) < 1e-12)
    }
}
