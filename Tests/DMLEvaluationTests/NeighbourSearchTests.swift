import DMLNumerics
import DMLTestSupport
import Testing
@testable import DMLEvaluation

/// Brute-force oracle: every distance computed directly in Double, sorted by (distance, index).
private func bruteForce(queries: Matrix<Double>, references: Matrix<Double>, k: Int, leaveOneOut: Bool,
                        metric: DistanceMetric) -> [[(index: Int, distance: Double)]] {
    func normalized(_ v: [Double]) -> [Double] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }
    return (0..<queries.rows).map { q in
        let query = queries.row(q)
        var candidates = [(index: Int, distance: Double)]()
        for r in 0..<references.rows where !(leaveOneOut && r == q) {
            let reference = references.row(r)
            let distance: Double
            switch metric {
            case .euclidean:
                distance = zip(query, reference).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            case .cosine:
                distance = 1 - zip(normalized(query), normalized(reference)).reduce(0) { $0 + $1.0 * $1.1 }
            }
            candidates.append((r, distance))
        }
        candidates.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
        return Array(candidates.prefix(k))
    }
}

@Suite("Blocked nearest-neighbour search")
struct NeighbourSearchTests {
    @Test("Ties are broken by the lower reference index; the query itself is excluded")
    func tiesAndSelfExclusion() throws {
        // 1-D points 0, 1, −1, 1: every score is an exact small integer in Float.
        let x = Matrix<Float>([[0], [1], [-1], [1]])
        let nn = try NearestNeighbours.leaveOneOut(x, k: 3)
        #expect(Array(nn.indices(ofQuery: 0)) == [1, 2, 3])   // all at distance 1
        #expect(Array(nn.indices(ofQuery: 1)) == [3, 0, 2])   // the duplicate (distance 0) first
        #expect(Array(nn.indices(ofQuery: 2)) == [0, 1, 3])   // 1 and 3 tie at distance 2
        #expect(Array(nn.indices(ofQuery: 3)) == [1, 0, 2])
        #expect(Array(nn.distances(ofQuery: 1)) == [0, 1, 2])
        #expect(Array(nn.distances(ofQuery: 2)) == [1, 2, 2])
        // The same ties with one-row blocks.
        let tiny = try NearestNeighbours.leaveOneOut(x, k: 3, options: NeighbourSearchOptions(queryBlockSize: 1, referenceBlockSize: 1))
        #expect(tiny == nn)
    }

    @Test("Blocked Double search equals brute force exactly", arguments: [
        (7, 1, 1), (33, 3, 5), (100, 16, 7), (64, 1024, 8192), (50, 50, 13),
    ])
    func blockedEqualsBruteForce(size: Int, queryBlock: Int, referenceBlock: Int) throws {
        var rng = SeededGenerator(seed: UInt64(size))
        let x: Matrix<Double> = rng.normalMatrix(rows: size, columns: 6)
        let y: Matrix<Double> = rng.normalMatrix(rows: size / 2 + 1, columns: 6)
        for metric in DistanceMetric.allCases {
            for threads in [1, 2] {
                let options = NeighbourSearchOptions(metric: metric, queryBlockSize: queryBlock,
                                                     referenceBlockSize: referenceBlock, threads: threads)
                let k = Swift.min(5, size - 1)
                let loo = try NearestNeighbours.leaveOneOut(x, k: k, options: options)
                let expected = bruteForce(queries: x, references: x, k: k, leaveOneOut: true, metric: metric)
                let separate = try NearestNeighbours.search(queries: x, references: y, k: Swift.min(4, y.rows), options: options)
                let expectedSeparate = bruteForce(queries: x, references: y, k: Swift.min(4, y.rows), leaveOneOut: false, metric: metric)
                for q in 0..<size {
                    #expect(Array(loo.indices(ofQuery: q)) == expected[q].map(\.index))
                    #expect(Array(separate.indices(ofQuery: q)) == expectedSeparate[q].map(\.index))
                    for (got, want) in zip(loo.distances(ofQuery: q), expected[q].map(\.distance)) {
                        #expect(abs(got - want) < 1e-9)
                    }
                }
            }
        }
    }

    @Test("The round-robin schedule pairs every two blocks exactly once, in rounds of disjoint pairs",
          arguments: Array(0...13))
    func roundRobinSchedule(blocks: Int) {
        let rounds = RoundRobinPairs(blocks: blocks).rounds
        var seen = Set<[Int]>()
        for round in rounds {
            let members = round.flatMap { [$0.0, $0.1] }
            #expect(Set(members).count == members.count)          // no block twice in a round
            for (a, b) in round {
                #expect(a < b && b < blocks)
                #expect(seen.insert([a, b]).inserted)              // no pair twice
            }
        }
        #expect(seen.count == blocks * (blocks - 1) / 2)           // every pair once
        #expect(rounds.count == (blocks < 2 ? 0 : blocks - 1 + blocks % 2))
    }

    @Test("Symmetric leave-one-out search equals brute force and the streaming search, for any tile size and thread count",
          arguments: [(1, 1), (5, 3), (8, 10), (37, 5), (64, 36)])
    func symmetricLeaveOneOut(tileSize: Int, k: Int) throws {
        var rng = SeededGenerator(seed: 40 + UInt64(tileSize))
        let x: Matrix<Double> = rng.normalMatrix(rows: 37, columns: 5)
        for metric in DistanceMetric.allCases {
            let expected = bruteForce(queries: x, references: x, k: k, leaveOneOut: true, metric: metric)
            let streaming = try NearestNeighbours.leaveOneOut(
                x, k: k, options: NeighbourSearchOptions(metric: metric, queryBlockSize: 7, referenceBlockSize: 9, symmetricBufferLimit: 0))
            for threads in [1, 2, 3] {
                let options = NeighbourSearchOptions(metric: metric, queryBlockSize: 10, threads: threads, symmetricTileSize: tileSize)
                let search = try BlockedNeighbourSearch(queries: x, references: nil, k: k, options: options)
                #expect(search.usesSymmetricSearch)
                let symmetric = try NearestNeighbours.leaveOneOut(x, k: k, options: options)
                for q in 0..<x.rows {
                    #expect(Array(symmetric.indices(ofQuery: q)) == expected[q].map(\.index))
                    #expect(Array(symmetric.indices(ofQuery: q)) == Array(streaming.indices(ofQuery: q)))
                    for (got, want) in zip(symmetric.distances(ofQuery: q), expected[q].map(\.distance)) {
                        #expect(abs(got - want) < 1e-9)
                    }
                }
            }
        }
    }

    @Test("The symmetric search runs only for leave-one-out searches whose buffers fit the limit")
    func symmetricBufferLimit() throws {
        let x = Matrix<Float>(rows: 100, columns: 3, repeating: 1)
        let bytes = 100 * TopKRow<Float>.slots(k: 4) * (MemoryLayout<Float>.stride + MemoryLayout<Int>.stride)
        func uses(limit: Int, separate: Bool = false) throws -> Bool {
            try BlockedNeighbourSearch(queries: x, references: separate ? x : nil, k: 4,
                                       options: NeighbourSearchOptions(symmetricBufferLimit: limit)).usesSymmetricSearch
        }
        #expect(try uses(limit: bytes))
        #expect(try !uses(limit: bytes - 1))
        #expect(try !uses(limit: 0))
        #expect(try !uses(limit: .max, separate: true))
        #expect(throws: EvaluationError.invalidOption(name: "symmetricBufferLimit", reason: "must be zero or positive, got -1")) {
            try NearestNeighbours.leaveOneOut(x, k: 1, options: NeighbourSearchOptions(symmetricBufferLimit: -1))
        }
    }

    @Test("Blocked Float search agrees with the Double oracle up to near-ties", arguments: [(40, 4, 9), (120, 32, 50)])
    func floatSearch(size: Int, queryBlock: Int, referenceBlock: Int) throws {
        var rng = SeededGenerator(seed: 99 + UInt64(size))
        let x: Matrix<Double> = rng.normalMatrix(rows: size, columns: 10)
        let options = NeighbourSearchOptions(queryBlockSize: queryBlock, referenceBlockSize: referenceBlock)
        let nn = try NearestNeighbours.leaveOneOut(x.converted(to: Float.self), k: 8, options: options)
        let expected = bruteForce(queries: x, references: x, k: 9, leaveOneOut: true, metric: .euclidean)
        for q in 0..<size {
            for j in 0..<8 {
                #expect(abs(Double(nn.distances(ofQuery: q)[q * 8 + j]) - expected[q][j].distance) < 1e-4)
                // Indices must agree wherever the oracle's neighbours are separated by more than rounding.
                let gapBefore = j == 0 ? 1 : expected[q][j].distance - expected[q][j - 1].distance
                let gapAfter = expected[q][j + 1].distance - expected[q][j].distance
                if gapBefore > 1e-4 && gapAfter > 1e-4 {
                    #expect(nn.indices(ofQuery: q)[q * 8 + j] == expected[q][j].index)
                }
            }
        }
    }

    @Test("Large k (sampled first-tile threshold) equals brute force, with exact ties", arguments: [
        (400, 8192), (64, 200), (37, 129),
    ])
    func largeKWithTies(queryBlock: Int, referenceBlock: Int) throws {
        // Integer coordinates in 0..<4: many duplicate points, so many exactly equal distances.
        var rng = SeededGenerator(seed: 7)
        let size = 400
        let rows = (0..<size).map { _ in (0..<3).map { _ in Double(rng.nextInt(below: 4)) } }
        let x = Matrix<Double>(rows)
        let y = Matrix<Double>(Array(rows.prefix(300).reversed()))
        let expectedByK = Dictionary(uniqueKeysWithValues: [32, 90].map { k in
            (k, (bruteForce(queries: x, references: x, k: k, leaveOneOut: true, metric: .euclidean),
                 bruteForce(queries: x, references: y, k: k, leaveOneOut: false, metric: .euclidean)))
        })
        // 64-row symmetric tiles: the leave-one-out searches run 7 blocks in rounds, with the
        // sampled per-query limits (k ≥ 32, 399 ≥ 4k candidates).
        for (threads, tile) in [(1, 1024), (2, 1024), (1, 64), (3, 64)] {
            let options = NeighbourSearchOptions(queryBlockSize: queryBlock, referenceBlockSize: referenceBlock, threads: threads,
                                                 symmetricTileSize: tile)
            for k in [32, 90] {
                let loo = try NearestNeighbours.leaveOneOut(x, k: k, options: options)
                let separate = try NearestNeighbours.search(queries: x, references: y, k: k, options: options)
                let floatLOO = try NearestNeighbours.leaveOneOut(x.converted(to: Float.self), k: k, options: options)
                let (expected, expectedSeparate) = expectedByK[k]!
                for q in 0..<size {
                    #expect(Array(loo.indices(ofQuery: q)) == expected[q].map(\.index))
                    #expect(Array(floatLOO.indices(ofQuery: q)) == expected[q].map(\.index))
                    #expect(Array(separate.indices(ofQuery: q)) == expectedSeparate[q].map(\.index))
                    #expect(Array(loo.distances(ofQuery: q)) == expected[q].map(\.distance))
                }
            }
        }
    }

    @Test("Large k on continuous data, both metrics, equals brute force")
    func largeKContinuous() throws {
        var rng = SeededGenerator(seed: 11)
        let x: Matrix<Double> = rng.normalMatrix(rows: 300, columns: 5)
        for metric in DistanceMetric.allCases {
            let options = NeighbourSearchOptions(metric: metric, queryBlockSize: 100, referenceBlockSize: 256)
            let nn = try NearestNeighbours.leaveOneOut(x, k: 40, options: options)
            let expected = bruteForce(queries: x, references: x, k: 40, leaveOneOut: true, metric: metric)
            for q in 0..<x.rows {
                #expect(Array(nn.indices(ofQuery: q)) == expected[q].map(\.index))
            }
        }
    }

    @Test("A sample that underestimates the threshold falls back to an exact merge")
    func sampleFallback() throws {
        // Every 4th reference (the ones the stride-4 sample sees) is near the query at the origin,
        // at distances 1, 1, 2, 2, …; all others are far. The sample's estimate then lets fewer
        // than k candidates through, so the search must redo the row without it.
        let count = 4 * SampledThreshold.sampleSize, k = 32
        let references = Matrix<Float>(rows: count, columns: 2) { j, column -> Float in
            guard column == 0 else { return 0 }
            return j % 4 == 0 ? Float(1 + j / 8) : Float(10_000 + j % 5)
        }
        let scores = (0..<count).map { references[$0, 0] * references[$0, 0] }
        let zeros = [Float](repeating: 0, count: count)
        var sampleScores = [Float](repeating: 0, count: SampledThreshold.sampleSize)
        var sampleIndices = [Int](repeating: 0, count: SampledThreshold.sampleSize)
        let estimate = SampledThreshold.estimate(row: scores, bias: zeros, columns: count, candidates: count, k: k,
                                                 sampleScores: &sampleScores, sampleIndices: &sampleIndices)
        let limit = try #require(estimate)
        #expect(scores.filter { $0 <= limit }.count < k)
        let nn = try NearestNeighbours.search(queries: Matrix<Float>([[0, 0]]), references: references, k: k)
        #expect(Array(nn.indices(ofQuery: 0)) == Array(stride(from: 0, to: 4 * k, by: 4)))
        let expectedDistances: [Float] = (0..<k).map { rank in Float(1 + rank / 2) }
        #expect(Array(nn.distances(ofQuery: 0)) == expectedDistances)
    }

    @Test("Symmetric search: a query whose sampled limit lets fewer than k through is searched again, exactly")
    func symmetricSampleFallback() throws {
        // 2048 points on a line; the sample sees every 4th (multiples of 4). Those are near the
        // query at the origin (row 0), at distances 1, 1, 2, 2, …; all others are far. Row 0's
        // limit then lets fewer than k candidates through, so its search must be redone.
        let count = 4 * SampledThreshold.sampleSize, k = 32
        let x = Matrix<Float>(rows: count, columns: 2) { j, column -> Float in
            guard column == 0, j > 0 else { return 0 }
            return j % 4 == 0 ? Float((j + 4) / 8) : Float(10_000 + j % 5)
        }
        let norms = x.rowSquaredNorms()
        let search = try BlockedNeighbourSearch(queries: x, references: nil, k: k,
                                                options: NeighbourSearchOptions(symmetricTileSize: 256))
        let limits = search.sampledLimits(norms: norms, pool: ThreadPool(threads: 2))
        let passed = (1..<count).filter { norms[$0] - 2 * x[$0, 0] * x[0, 0] <= limits[0] }.count
        #expect(passed < k)
        for threads in [1, 2] {
            let options = NeighbourSearchOptions(threads: threads, symmetricTileSize: 256)
            let nn = try NearestNeighbours.leaveOneOut(x, k: k, options: options)
            let streaming = try NearestNeighbours.leaveOneOut(x, k: k, options: NeighbourSearchOptions(symmetricBufferLimit: 0))
            #expect(Array(nn.indices(ofQuery: 0)) == Array(stride(from: 4, through: 4 * k, by: 4)))
            #expect(Array(nn.distances(ofQuery: 0)) == (0..<k).map { Float(1 + $0 / 2) })
            for q in 0..<count { #expect(Array(nn.indices(ofQuery: q)) == Array(streaming.indices(ofQuery: q))) }
        }
    }

    @Test("Bad input throws a descriptive error")
    func badInput() {
        let x = Matrix<Float>([[0, 1], [1, 0], [2, 2]])
        #expect(throws: EvaluationError.tooFewReferences(needed: 3, available: 2, reason: "a 3-nearest-neighbour search")) {
            try NearestNeighbours.leaveOneOut(x, k: 3)
        }
        #expect(throws: EvaluationError.nonFinite(name: "embeddings", row: 1, column: 1)) {
            try NearestNeighbours.leaveOneOut(Matrix<Float>([[0, 1], [1, .nan]]), k: 1)
        }
        #expect(throws: EvaluationError.dimensionMismatch(queries: 2, references: 3)) {
            try NearestNeighbours.search(queries: x, references: Matrix<Float>([[1, 2, 3]]), k: 1)
        }
        #expect(throws: EvaluationError.zeroNorm(name: "embeddings", row: 1)) {
            try NearestNeighbours.leaveOneOut(Matrix<Float>([[0, 1], [0, 0]]), k: 1,
                                              options: NeighbourSearchOptions(metric: .cosine))
        }
        #expect(throws: EvaluationError.empty(name: "query embeddings")) {
            try NearestNeighbours.search(queries: Matrix<Float>(rows: 0, columns: 2), references: x, k: 1)
        }
        #expect(throws: EvaluationError.invalidOption(name: "queryBlockSize", reason: "must be positive, got 0")) {
            try NearestNeighbours.leaveOneOut(x, k: 1, options: NeighbourSearchOptions(queryBlockSize: 0))
        }
    }
}
