import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// `Σ_k W_k · P_k` over the augmented points, whose gradient with respect to the originals is
/// `batch.backward(W)` — the probe for every synthesis backward check.
private func probe(_ synthesis: some EmbeddingSynthesis, weights: Matrix<Double>, labels: [Int]) -> (Matrix<Double>) -> Double {
    { x in
        let points = try! synthesis.augment(x, labels: labels).points
        return zip(points.elements, weights.elements).reduce(0) { $0 + $1.0 * $1.1 }
    }
}

/// `batch.backward` of a random probe against finite differences, on three seeded C×3 batches.
private func expectBackwardMatchesFiniteDifferences(_ synthesis: some EmbeddingSynthesis) throws {
    for seed in UInt64(1)...3 {
        let (x, labels) = BatchFactory.batch(classes: 2, perClass: 3, dimension: 4, seed: seed)
        let batch = try synthesis.augment(x, labels: labels)
        var rng = SeededGenerator(seed: seed + 100)
        let w: Matrix<Double> = rng.normalMatrix(rows: batch.points.rows, columns: x.columns)
        let error = FiniteDifference.check(probe(synthesis, weights: w, labels: labels), analytic: batch.backward(w), at: x)
        #expect(error < 1e-7, "seed \(seed): worst error \(error)")
    }
}

/// With `detach` the originals receive exactly their own rows of the point gradient; without it
/// the synthetic rows add to them.
private func expectDetachCarriesNoGradient(flowing: some EmbeddingSynthesis, detached: some EmbeddingSynthesis) throws {
    let (x, labels) = BatchFactory.batch(classes: 2, perClass: 2, dimension: 3, seed: 4)
    let batch = try detached.augment(x, labels: labels)
    var rng = SeededGenerator(seed: 5)
    let w: Matrix<Double> = rng.normalMatrix(rows: batch.points.rows, columns: 3)
    let ownRows = w.gatheringRows(Array(0..<x.rows))
    #expect(batch.backward(w) == ownRows)
    #expect(try flowing.augment(x, labels: labels).backward(w).maxAbsDifference(ownRows) > 1e-3)
}

private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
private func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

@Suite struct EmbeddingExpansionTests {
    @Test func handComputedPointsDivideTheSegment() throws {
        // x_i = (2, 0), x_j = (0, 2), n = 2: x̄_1 = (1·x_i + 2·x_j)/3 = (2/3, 4/3), x̄_2 = (4/3, 2/3);
        // normalized: (1, 2)/√5 and (2, 1)/√5.
        let x = Matrix<Double>([[2, 0], [0, 2]])
        let raw = try EmbeddingExpansion(normalize: false).augment(x, labels: [7, 7])
        #expect(raw.points.rows == 4)
        #expect(abs(raw.points[2, 0] - 2.0 / 3) < 1e-15 && abs(raw.points[2, 1] - 4.0 / 3) < 1e-15)
        #expect(abs(raw.points[3, 0] - 4.0 / 3) < 1e-15 && abs(raw.points[3, 1] - 2.0 / 3) < 1e-15)
        let unit = try EmbeddingExpansion().augment(x, labels: [7, 7])
        let s5 = 5.0.squareRoot()
        #expect(abs(unit.points[2, 0] - 1 / s5) < 1e-15 && abs(unit.points[2, 1] - 2 / s5) < 1e-15)
        #expect(abs(unit.points[3, 0] - 2 / s5) < 1e-15 && abs(unit.points[3, 1] - 1 / s5) < 1e-15)
        #expect(unit.labels == [7, 7, 7, 7])
        #expect(unit.isSynthetic == [false, false, true, true])
        #expect(unit.groups == [SyntheticGroup(pair: PositivePair(0, 1, label: 7), synthetic: 2..<4)])
        #expect(unit.groups[0].members == [0, 1, 2, 3])
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func pointsLieOnTheUnitSphereAlongTheSegment(seed: UInt64) throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 4, dimension: 5, seed: seed)
        let n = 3
        let batch = try EmbeddingExpansion(points: n, pairing: .all).augment(x, labels: labels)
        let pairs = PositivePairs.make(labels: labels, rule: .all)
        #expect(batch.points.rows == x.rows + pairs.count * n)
        for (g, pair) in pairs.enumerated() {
            for t in 1...n {
                let k = x.rows + g * n + (t - 1)
                let point = batch.points.row(k)
                #expect(abs(norm(point) - 1) < 1e-12)
                // The direction of t·x_i + (n+1−t)·x_j, computed independently.
                let direction = zip(x.row(pair.first), x.row(pair.second)).map { Double(t) * $0 + Double(n + 1 - t) * $1 }
                #expect(abs(dot(point, direction) / norm(direction) - 1) < 1e-12)
                #expect(batch.labels[k] == pair.label && batch.isSynthetic[k])
                #expect(batch.groups[g].members.contains(k))
            }
        }
        #expect(batch.points.gatheringRows(Array(0..<x.rows)) == x)
    }

    @Test(arguments: [false, true], [PairingRule.adjacent, .all])
    func backwardMatchesFiniteDifferences(normalize: Bool, pairing: PairingRule) throws {
        try expectBackwardMatchesFiniteDifferences(EmbeddingExpansion(points: 2, normalize: normalize, pairing: pairing))
    }

    @Test func detachCarriesNoGradient() throws {
        try expectDetachCarriesNoGradient(flowing: EmbeddingExpansion(), detached: EmbeddingExpansion(detach: true))
    }

    @Test func invalidPointCountIsAnError() {
        #expect(throws: MetricLearningError.self) {
            try EmbeddingExpansion(points: 0).augment(Matrix<Double>([[1, 0], [0, 1]]), labels: [0, 0])
        }
    }
}

@Suite struct SymmetricalSynthesisTests {
    @Test func handComputedMirrorImages() throws {
        // x_k = (1, 0), x_l = (1, 1): u_l = (1, 1)/√2, r = (x_k·u_l) u_l = (½, ½),
        // x'_k = 2(r − x_k) + x_k = (0, 1). x'_l: u_k = (1, 0), r = (1, 0), x'_l = (1, −1).
        let batch = try SymmetricalSynthesis().augment(Matrix<Double>([[1, 0], [1, 1]]), labels: [3, 3])
        #expect(batch.points.rows == 4)
        #expect(abs(batch.points[2, 0]) < 1e-15 && abs(batch.points[2, 1] - 1) < 1e-15)
        #expect(abs(batch.points[3, 0] - 1) < 1e-15 && abs(batch.points[3, 1] + 1) < 1e-15)
        #expect(batch.labels == [3, 3, 3, 3])
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func defaultsPreserveNormAndSimilarityToTheAxis(seed: UInt64) throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 3, dimension: 6, seed: seed)
        let batch = try SymmetricalSynthesis(pairing: .all).augment(x, labels: labels)
        let pairs = PositivePairs.make(labels: labels, rule: .all)
        #expect(batch.syntheticCount == 2 * pairs.count)
        for (g, pair) in pairs.enumerated() {
            let xk = x.row(pair.first), xl = x.row(pair.second)
            let mk = batch.points.row(x.rows + 2 * g), ml = batch.points.row(x.rows + 2 * g + 1)
            #expect(abs(norm(mk) - norm(xk)) < 1e-12)
            #expect(abs(dot(mk, xl) - dot(xk, xl)) < 1e-12)
            #expect(abs(norm(ml) - norm(xl)) < 1e-12)
            #expect(abs(dot(ml, xk) - dot(xl, xk)) < 1e-12)
        }
    }

    @Test(arguments: [(2.0, 1.0), (1.5, 0.8), (0.5, 2.0)], [PairingRule.adjacent, .all])
    func backwardMatchesFiniteDifferences(parameters: (Double, Double), pairing: PairingRule) throws {
        try expectBackwardMatchesFiniteDifferences(
            SymmetricalSynthesis(alpha: parameters.0, beta: parameters.1, pairing: pairing))
    }

    @Test func detachCarriesNoGradient() throws {
        try expectDetachCarriesNoGradient(flowing: SymmetricalSynthesis(), detached: SymmetricalSynthesis(detach: true))
    }

    @Test func noSynthesisKeepsTheBatchAndFormsPairGroups() throws {
        let (x, labels) = BatchFactory.batch(classes: 2, perClass: 3, dimension: 3, seed: 2)
        let batch = try NoSynthesis(pairing: .all).augment(x, labels: labels)
        #expect(batch.points == x && batch.syntheticCount == 0)
        #expect(batch.groups.map(\.members) == [[0, 1], [0, 2], [1, 2], [3, 4], [3, 5], [4, 5]])
        #expect(batch.backward(x) == x)
    }
}
