import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

@Suite struct PairwiseDistancesTests {
    @Test func valuesMatchDirectComputation() {
        let x = Matrix<Double>([[0, 0], [3, 4], [1, 1]])
        let p = PairwiseDistances(x)
        #expect(p.distances[0, 1] == 5)
        #expect(abs(p.squared[1, 2] - 13) < 1e-12)
        #expect(p.gram[1, 2] == 7)
        for i in 0..<3 { #expect(p.distances[i, i] == 0) }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func backwardMatchesFiniteDifferences(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let x: Matrix<Double> = rng.normalMatrix(rows: 5, columns: 3)
        let wG: Matrix<Double> = rng.normalMatrix(rows: 5, columns: 5)
        let wS: Matrix<Double> = rng.normalMatrix(rows: 5, columns: 5)
        let wD: Matrix<Double> = rng.normalMatrix(rows: 5, columns: 5)
        func loss(_ y: Matrix<Double>) -> Double {
            let p = PairwiseDistances(y)
            var s = 0.0
            for k in 0..<25 {
                s += wG.elements[k] * p.gram.elements[k] + wS.elements[k] * p.squared.elements[k]
                    + wD.elements[k] * p.distances.elements[k]
            }
            return s
        }
        let analytic = PairwiseDistances(x).backward(gram: wG, squared: wS, distances: wD)
        #expect(FiniteDifference.check(loss, analytic: analytic, at: x) < 1e-6)
        // Each part alone too.
        let onlyD = PairwiseDistances(x).backward(distances: wD)
        let fd = FiniteDifference.gradient(of: { y in
            let p = PairwiseDistances(y)
            return zip(wD.elements, p.distances.elements).reduce(0) { $0 + $1.0 * $1.1 }
        }, at: x)
        #expect(FiniteDifference.worstError(analytic: onlyD, numeric: fd) < 1e-6)
    }

    @Test func coincidingPointsGiveFiniteGradient() {
        let x = Matrix<Float>([[1, 2], [1, 2], [0, 1]])
        let p = PairwiseDistances(x)
        #expect(p.distances[0, 1] == 0)
        let w = Matrix<Float>(rows: 3, columns: 3, repeating: 1)
        let g = p.backward(gram: w, squared: w, distances: w)
        // L = Σ G + Σ D² + Σ D over all entries, D₀₁ contributing 0 (its subgradient at 0):
        // ∂L/∂x_k = 2 Σ_j x_j + 4 Σ_j (x_k − x_j) + 2 Σ_{j: D_kj > 0} (x_k − x_j) / D_kj.
        let r = Float(2).squareRoot()
        let expected = Matrix<Float>([[8 + r, 14 + r], [8 + r, 14 + r], [-4 - 2 * r, 2 - 2 * r]])
        #expect(g.maxAbsDifference(expected) < 1e-5, "\(g)")
    }

    @Test func permutingPointsPermutesDistances() {
        var rng = SeededGenerator(seed: 7)
        let x: Matrix<Double> = rng.normalMatrix(rows: 6, columns: 4)
        let perm = BatchFactory.permutation(6, seed: 3)
        let a = PairwiseDistances(x).distances
        let b = PairwiseDistances(x.gatheringRows(perm)).distances
        for i in 0..<6 { for j in 0..<6 { #expect(abs(b[i, j] - a[perm[i], perm[j]]) < 1e-12) } }
    }
}

@Suite struct PositivePairsTests {
    @Test func adjacentPairsFollowBatchOrderPerClass() {
        let labels = [0, 1, 0, 1, 0, 2, 0, 1]
        let pairs = PositivePairs.make(labels: labels, rule: .adjacent)
        #expect(pairs == [PositivePair(0, 2, label: 0), PositivePair(1, 3, label: 1), PositivePair(4, 6, label: 0)])
    }

    @Test func allPairsAreEveryUnorderedPositivePair() {
        let labels = BatchFactory.labels(classes: 2, perClass: 3)
        let pairs = PositivePairs.make(labels: labels, rule: .all)
        #expect(pairs.count == 6)
        #expect(pairs.allSatisfy { labels[$0.first] == labels[$0.second] && $0.first < $0.second })
        let k2 = BatchFactory.labels(classes: 4, perClass: 2)
        #expect(PositivePairs.make(labels: k2, rule: .all) == PositivePairs.make(labels: k2, rule: .adjacent))
    }

    @Test func validationNamesTheProblem() {
        let x = Matrix<Double>([[1, .nan]])
        #expect(throws: MetricLearningError.nonFinite(row: 0, column: 1)) { try MetricLearningError.validate(x, labels: [0]) }
        #expect(throws: MetricLearningError.labelCountMismatch(embeddings: 1, labels: 2)) {
            try MetricLearningError.validate(Matrix<Double>([[1, 2]]), labels: [0, 1])
        }
    }
}
