import DMLNumerics
import DMLTestSupport
import Testing
@testable import DMLEvaluation

@Suite("k-means with k-means++ seeding")
struct KMeansTests {
    @Test("Separated blobs are recovered exactly")
    func separatedBlobs() throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 10, dimension: 3, seed: 1, spread: 0.01)
        let result = try KMeans.run(x, clusters: 4, options: KMeansOptions(seed: 3))
        let scores = try ClusteringScores.compute(clusters: result.assignments, classes: labels)
        #expect(scores.nmi > 1 - 1e-12 && scores.f1 > 1 - 1e-12)
        #expect(result.converged)
    }

    @Test("The objective never increases, and the same seed gives the same clusters")
    func objectiveAndDeterminism() throws {
        var rng = SeededGenerator(seed: 11)
        let x: Matrix<Double> = rng.normalMatrix(rows: 300, columns: 5)
        for seed: UInt64 in [0, 1, 2] {
            let options = KMeansOptions(seed: seed, maxIterations: 60, tolerance: 0, pointBlockSize: 37, seedingBatch: 4)
            let result = try KMeans.run(x, clusters: 12, options: options)
            #expect(result.iterations >= 3)
            for (previous, next) in zip(result.objectiveHistory, result.objectiveHistory.dropFirst()) {
                #expect(next <= previous * (1 + 1e-12))
            }
            // The reported last objective is the cost of the returned assignment and centres.
            var cost = 0.0
            for i in 0..<x.rows {
                for j in 0..<x.columns {
                    let diff = x[i, j] - result.centres[result.assignments[i], j]
                    cost += diff * diff
                }
            }
            #expect(abs(cost - result.objectiveHistory.last!) <= 1e-9 * cost)
            let again = try KMeans.run(x, clusters: 12, options: options)
            #expect(again == result)
            var threaded = options
            threaded.threads = 1
            #expect(try KMeans.run(x, clusters: 12, options: threaded) == result)
        }
    }

    @Test("An empty cluster takes the farthest point of a cluster that keeps one, ties to the lower index")
    func emptyClusterReseeding() {
        // Points 0, 1, 2, 10; clusters {0,1,2} → centre 1 and {10}; cluster 2 empty.
        // Costs 1, 0, 1, 0: points 0 and 2 tie as farthest → point 0 moves to cluster 2.
        let x = Matrix<Double>([[0], [1], [2], [10]])
        var centres = Matrix<Double>([[1], [10], [50]])
        let reseeded = KMeans.update(x, assignments: [0, 0, 0, 1], costs: [1, 0, 1, 0], centres: &centres, pool: ThreadPool(threads: 2))
        #expect(reseeded == 1)
        #expect(centres == Matrix<Double>([[1.5], [10], [0]]))
    }

    @Test("The seeding draws centres with the k-means++ law (rejection sampling is exact)", arguments: [1, 256])
    func seedingDistribution(batch: Int) {
        let values: [Double] = [0, 1, 3, 7, 15]
        let x = Matrix<Double>(values.map { [$0] })
        let blocks = SquaredDistanceBlocks(points: x, blockSize: 2, pool: ThreadPool(threads: 1))
        let seeding = KMeansPlusPlusSeeding(points: x, distances: blocks, batch: batch)
        let runs = 20_000
        var counts = [[Int]: Int]()
        for seed in 0..<runs {
            var generator = SeededGenerator(seed: UInt64(seed))
            counts[seeding.chooseCentres(clusters: 3, generator: &generator), default: 0] += 1
        }
        // P(i, j, l) = 1/5 · D²_i(j)/Σ D²_i · min(D²_i(l), D²_j(l))/Σ min(...).
        func d2(_ a: Int, _ b: Int) -> Double { (values[a] - values[b]) * (values[a] - values[b]) }
        for i in 0..<5 {
            let second = (0..<5).map { d2(i, $0) }
            for j in 0..<5 where j != i {
                let third = (0..<5).map { Swift.min(d2(i, $0), d2(j, $0)) }
                for l in 0..<5 where l != i && l != j {
                    let p = 0.2 * second[j] / second.reduce(0, +) * third[l] / third.reduce(0, +)
                    let observed = Double(counts[[i, j, l]] ?? 0) / Double(runs)
                    #expect(abs(observed - p) <= 5 * (p * (1 - p) / Double(runs)).squareRoot() + 1e-3,
                            "triple \(i),\(j),\(l): observed \(observed), expected \(p)")
                }
            }
        }
        #expect(counts.keys.allSatisfy { Set($0).count == 3 })
    }

    @Test("Greedy seeding uses scikit-learn's 2 + ⌊ln K⌋ candidates, and plain k-means++ beyond the work limit")
    func greedyCandidateCounts() {
        let counts = [1, 2, 3, 7, 8, 20, 21, 100, 11_316].map { GreedyKMeansPlusPlusSeeding<Double>.defaultCandidates(clusters: $0) }
        #expect(counts == [2, 2, 3, 3, 4, 4, 5, 6, 11])  // e ≈ 2.718, e² ≈ 7.39, e³ ≈ 20.09, e⁴ ≈ 54.6, e⁹ ≈ 8103
        let automatic = KMeansOptions()
        #expect(automatic.candidates(clusters: 10, points: 10_000, dimension: 784) == 4)
        #expect(automatic.candidates(clusters: 11_316, points: 60_502, dimension: 512) == 1)
        #expect(KMeansOptions(seedingCandidates: 7).candidates(clusters: 11_316, points: 60_502, dimension: 512) == 7)
    }

    @Test("Greedy seeding keeps the candidate that lowers the potential most")
    func greedyKeepsTheBestCandidate() {
        // Points 0, 1, 2 and 100, 101: after a first centre among 0…2, any candidate among 100, 101 leaves a
        // potential below 6, any other one above 10⁴; candidates are drawn ∝ D², so with 20 of them one of
        // the far group is (all but surely) drawn and kept.
        let x = Matrix<Double>([[0], [1], [2], [100], [101]])
        let blocks = SquaredDistanceBlocks(points: x, blockSize: 2, pool: ThreadPool(threads: 1))
        let greedy = GreedyKMeansPlusPlusSeeding(points: x, distances: blocks, candidates: 20)
        for seed in UInt64(0)..<20 {
            var generator = SeededGenerator(seed: seed)
            let centres = greedy.chooseCentres(clusters: 2, generator: &generator)
            #expect(Set(centres).count == 2)
            if centres[0] < 3 { #expect(centres[1] >= 3, "seed \(seed): \(centres)") }
            var again = SeededGenerator(seed: seed)
            #expect(greedy.chooseCentres(clusters: 2, generator: &again) == centres)
        }
        // Three groups, three centres: the greedy choice always ends with one centre per group.
        let y = Matrix<Double>([[0], [0.5], [50], [50.5], [100], [100.5]])
        let seeding = GreedyKMeansPlusPlusSeeding(points: y, distances: SquaredDistanceBlocks(points: y, blockSize: 4, pool: ThreadPool(threads: 1)),
                                                  candidates: 8)
        for seed in UInt64(0)..<20 {
            var generator = SeededGenerator(seed: seed)
            #expect(Set(seeding.chooseCentres(clusters: 3, generator: &generator).map { $0 / 2 }) == [0, 1, 2])
        }
    }

    @Test("Greedy seeding reaches a lower median objective than plain k-means++ on overlapping blobs")
    func greedyBeatsPlainSeeding() throws {
        var rng = SeededGenerator(seed: 21)
        let centres: Matrix<Double> = rng.normalMatrix(rows: 30, columns: 4, std: 3)
        let x = Matrix<Double>(rows: 600, columns: 4) { i, j in centres[i % 30, j] + rng.nextNormal() * 0.8 }
        func median(_ candidates: Int) throws -> Double {
            let objectives = try (UInt64(0)..<9).map { seed in
                try KMeans.run(x, clusters: 30, options: KMeansOptions(seed: seed, seedingCandidates: candidates)).objective
            }.sorted()
            return objectives[4]
        }
        let plain = try median(1), greedy = try median(0)
        #expect(greedy < plain, "greedy \(greedy), plain \(plain)")
    }

    @Test("Duplicates: centres stay distinct points; K = N gives zero objective")
    func duplicatesAndFullK() throws {
        let x = Matrix<Double>([[0, 0], [0, 0], [0, 0], [5, 5], [5, 5]])
        let two = try KMeans.run(x, clusters: 2, options: KMeansOptions(seed: 4))
        #expect(two.objectiveHistory.last == 0)
        #expect(Set(two.assignments[0..<3]).count == 1 && Set(two.assignments[3...]).count == 1)
        let five = try KMeans.run(x, clusters: 5, options: KMeansOptions(seed: 4))
        #expect(five.objectiveHistory.last == 0)
    }

    @Test("Bad input is an error")
    func errors() {
        let x = Matrix<Double>([[0], [1]])
        #expect(throws: EvaluationError.invalidOption(name: "clusters", reason: "expected 1...2 (the number of points), got 3")) {
            try KMeans.run(x, clusters: 3)
        }
        #expect(throws: EvaluationError.self) { try KMeans.run(x, clusters: 1, options: KMeansOptions(maxIterations: 0)) }
        #expect(throws: EvaluationError.nonFinite(name: "embeddings", row: 1, column: 0)) {
            try KMeans.run(Matrix<Double>([[0], [.infinity]]), clusters: 1)
        }
    }
}
