import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// Brute force: every pair (p, n), p over the set's members ascending, n over the points of
/// class c ascending, keeping the first strict improvement.
private func bruteForce(
    _ m: Matrix<Double>, maximize: Bool, batch: AugmentedBatch<Double>, sets: MiningSets
) -> (value: [Double], p: [Int], n: [Int], synthetic: Int) {
    let classes = Array(Set(batch.labels)).sorted()
    var value = [Double](), ps = [Int](), ns = [Int](), synthetic = 0
    for s in 0..<sets.count {
        for c in classes {
            guard c != sets.labels[s] else {
                value.append(0); ps.append(-1); ns.append(-1)
                continue
            }
            var best = maximize ? -Double.infinity : .infinity, bp = -1, bn = -1
            for p in sets.members(of: s) {
                for n in 0..<batch.points.rows where batch.labels[n] == c {
                    let v = m[p, n]
                    if maximize ? v > best : v < best { (best, bp, bn) = (v, p, n) }
                }
            }
            value.append(best); ps.append(bp); ns.append(bn)
            if batch.isSynthetic[bp] || batch.isSynthetic[bn] { synthetic += 1 }
        }
    }
    return (value, ps, ns, synthetic)
}

private func expectMatchesBruteForce(_ batch: AugmentedBatch<Double>, sets: MiningSets) {
    let geometry = PairwiseDistances(batch.points)
    for maximize in [false, true] {
        let mined = maximize
            ? HardNegativePairMiner.hardestBySimilarity(geometry, batch: batch, sets: sets)
            : HardNegativePairMiner.hardestByDistance(geometry, batch: batch, sets: sets)
        let expected = bruteForce(maximize ? geometry.gram : geometry.distances, maximize: maximize, batch: batch, sets: sets)
        #expect(mined.value.elements == expected.value)
        #expect(mined.groupPoint == expected.p)
        #expect(mined.classPoint == expected.n)
        #expect(mined.syntheticPairCount == expected.synthetic)
        #expect(mined.pairCount == sets.count * (mined.classes.count - 1))
    }
}

@Suite struct HardNegativePairMinerTests {
    static let syntheses: [any EmbeddingSynthesis] = [
        NoSynthesis(), NoSynthesis(pairing: .all), EmbeddingExpansion(), EmbeddingExpansion(points: 3, pairing: .all),
        SymmetricalSynthesis(), SymmetricalSynthesis(pairing: .all),
    ]

    @Test(arguments: 0..<syntheses.count)
    func matchesBruteForceOnGroupsPairsAndAnchors(index: Int) throws {
        for (seed, perClass) in [(UInt64(1), 2), (2, 3), (3, 4)] {
            let (x, labels) = BatchFactory.batch(classes: 4, perClass: perClass, dimension: 5, seed: seed)
            let batch = try Self.syntheses[index].augment(x, labels: labels)
            expectMatchesBruteForce(batch, sets: .groups(of: batch))
            expectMatchesBruteForce(batch, sets: .pairs(PositivePairs.make(labels: labels, rule: .all), in: batch))
            expectMatchesBruteForce(batch, sets: .anchors(Array(0..<x.rows), in: batch))
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func tiesGoToTheLowestIndexOnALattice(seed: UInt64) throws {
        // Small integer coordinates (and exact midpoints) make many distances and similarities equal.
        var rng = SeededGenerator(seed: seed)
        let labels = BatchFactory.labels(classes: 3, perClass: 4)
        let x = Matrix<Double>(rows: labels.count, columns: 2) { _, _ in Double(rng.nextInt(below: 3)) }
        for synthesis: any EmbeddingSynthesis in [NoSynthesis(pairing: .all), EmbeddingExpansion(points: 1, normalize: false)] {
            let batch = try synthesis.augment(x, labels: labels)
            expectMatchesBruteForce(batch, sets: .groups(of: batch))
        }
    }

    @Test func handPickedTieTakesLowestPointThenLowestNegative() throws {
        // Class 0 pair at the origin; every class-1 point is at distance 1 from both: the
        // chosen pair is (p = 0, n = 2), the lowest of each.
        let x = Matrix<Double>([[0, 0], [0, 0], [1, 0], [0, 1]])
        let batch = try NoSynthesis().augment(x, labels: [0, 0, 1, 1])
        let mined = HardNegativePairMiner.hardestByDistance(PairwiseDistances(batch.points), batch: batch)
        #expect(mined.classes == [0, 1])
        #expect(mined.value[0, 1] == 1 && mined.groupPoint[1] == 0 && mined.classPoint[1] == 2)
        // Group of class 1 against class 0: D((1,0),(0,0)) = D((0,1),(0,0)) = 1 → (p = 2, n = 0).
        #expect(mined.groupPoint[2] == 2 && mined.classPoint[2] == 0 && mined.groupPoint[3] == -1)
        #expect(mined.syntheticFraction == 0)
    }

    @Test func syntheticFractionCountsPairsTouchingSyntheticPoints() throws {
        // Two classes on a line: class 0 (0,0), (4,0) with midpoint (2,0); class 1 (10,0), (6,0)
        // with midpoint (8,0). The closest pair is (4,0)–(6,0), two originals: fraction 0.
        let far = try EmbeddingExpansion(points: 1, normalize: false)
            .augment(Matrix<Double>([[0, 0], [4, 0], [10, 0], [6, 0]]), labels: [0, 0, 1, 1])
        #expect(HardNegativePairMiner.hardestByDistance(PairwiseDistances(far.points), batch: far).syntheticFraction == 0)
        // Class 0: (−2, 0), (2, 0), midpoint (0, 0); class 1: (−2, 4), (2, −2), midpoint (0, 1) —
        // the hardest pair is midpoint–midpoint (distance 1; every other pair is ≥ 2).
        let near = try EmbeddingExpansion(points: 1, normalize: false)
            .augment(Matrix<Double>([[-2, 0], [2, 0], [-2, 4], [2, -2]]), labels: [0, 0, 1, 1])
        let mined = HardNegativePairMiner.hardestByDistance(PairwiseDistances(near.points), batch: near)
        #expect(mined.syntheticFraction == 1)
        #expect(mined.value[0, 1] == 1 && mined.groupPoint[1] == 4 && mined.classPoint[1] == 5)
        #expect(mined.groupPoint[2] == 5 && mined.classPoint[2] == 4)
    }

    @Test func miningSetsFollowTheDocumentedUnionRule() throws {
        // One class of 4 with adjacent pairs (0,1), (2,3); EE adds 2 points per pair.
        let (x, labels) = BatchFactory.batch(classes: 2, perClass: 4, dimension: 3, seed: 1)
        let batch = try EmbeddingExpansion().augment(x, labels: labels)
        #expect(batch.groups[0].members == [0, 1, 8, 9] && batch.groups[1].members == [2, 3, 10, 11])
        let pairSets = MiningSets.pairs([PositivePair(0, 1, label: 0), PositivePair(0, 2, label: 0)], in: batch)
        #expect(Array(pairSets.members(of: 0)) == [0, 1, 8, 9])
        #expect(Array(pairSets.members(of: 1)) == [0, 1, 2, 3, 8, 9, 10, 11])
        let allPairs = try NoSynthesis(pairing: .all).augment(x, labels: labels)
        let anchorSets = MiningSets.anchors([0], in: allPairs)
        #expect(Array(anchorSets.members(of: 0)) == [0, 1, 2, 3])
        let odd = try NoSynthesis().augment(x.gatheringRows([0, 1, 2, 4, 5]), labels: [0, 0, 0, 1, 1])
        #expect(Array(MiningSets.anchors([2], in: odd).members(of: 0)) == [2])
    }
}
