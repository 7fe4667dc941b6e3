import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// The losses with a cross-batch memory on a thread pool, and the sparse memory backward.
@Suite struct PooledLossTests {
    /// Every loss in every mode (plain, HNPM, HNPM + EE, HNPM + Symm).
    static var configurations: [LossConfiguration] {
        var out = [LossConfiguration]()
        for kind in LossKind.allCases {
            out.append(LossConfiguration(kind: kind))
            for synthesis in SynthesisKind.allCases { out.append(LossConfiguration(kind: kind, mining: .hnpm, synthesis: synthesis)) }
        }
        return out
    }

    /// A 12 × 2 batch (24 rows: the pool splits them into chunks of at least 8) and a memory of
    /// 20 classes × 2, half of them shared with the batch.
    static func problem<T: BLASScalar>(_: T.Type) throws -> (Matrix<T>, [Int], MemoryPoints<T>) {
        let (x, labels) = BatchFactory.batch(classes: 12, perClass: 2, dimension: 6, seed: 21, spread: 0.6, normalized: true)
        let (m, y) = BatchFactory.batch(classes: 20, perClass: 2, dimension: 6, seed: 22, spread: 0.6, normalized: true)
        return (x.converted(to: T.self), labels, try MemoryPoints(embeddings: m.converted(to: T.self), labels: y.map { $0 + 6 }))
    }

    static func bits(_ m: Matrix<Float>) -> [UInt32] { m.elements.map(\.bitPattern) }

    @Test(arguments: [1, 2, 3])
    func thePooledLossEqualsTheSerialOneAndRepeatsExactly(threads: Int) throws {
        let (x, labels, memory) = try Self.problem(Float.self)
        let pool = ThreadPool(threads: threads)
        for configuration in Self.configurations {
            let name = "\(configuration.kind) \(configuration.mining) \(configuration.synthesis) at \(threads) threads"
            let serial = try configuration.evaluate(x, labels: labels, memory: memory)
            let pooled = try configuration.evaluate(x, labels: labels, memory: memory, pool: pool)
            let again = try configuration.evaluate(x, labels: labels, memory: memory, pool: pool)
            // The same thread count gives the same bits run after run.
            #expect(pooled.value.bitPattern == again.value.bitPattern, "\(name)")
            #expect(Self.bits(pooled.gradient) == Self.bits(again.gradient), "\(name)")
            // Rows go to different BLAS calls: equal to the serial loss within Float rounding.
            #expect(abs(pooled.value - serial.value) <= 1e-6 * max(1, abs(serial.value)), "\(name)")
            let scale = max(1, serial.gradient.elements.map { abs($0) }.max() ?? 0)
            #expect(pooled.gradient.maxAbsDifference(serial.gradient) <= 1e-6 * scale, "\(name)")
            #expect(pooled.syntheticFraction == serial.syntheticFraction, "\(name)")
        }
    }

    @Test func thePooledLossOfDoublesMatchesToRounding() throws {
        let (x, labels, memory) = try Self.problem(Double.self)
        let pool = ThreadPool(threads: 3)
        for configuration in Self.configurations {
            let serial = try configuration.evaluate(x, labels: labels, memory: memory)
            let pooled = try configuration.evaluate(x, labels: labels, memory: memory, pool: pool)
            #expect(abs(pooled.value - serial.value) <= 1e-13 * max(1, abs(serial.value)), "\(configuration.kind) \(configuration.mining)")
            #expect(pooled.gradient.maxAbsDifference(serial.gradient) <= 1e-13, "\(configuration.kind) \(configuration.mining)")
        }
    }

    /// Weights with about `density` of the memory block nonzero (and a dense batch block).
    static func weights(rows a: Int, columns r: Int, density: Double, seed: UInt64) -> Matrix<Double> {
        var rng = SeededGenerator(seed: seed)
        let values: Matrix<Double> = rng.normalMatrix(rows: a, columns: r)
        var out = values
        for i in 0..<a {
            for j in a..<r where Double(rng.next() % 1000) / 1000 >= density { out[i, j] = 0 }
        }
        return out
    }

    @Test(arguments: [0.0, 0.02, 0.3, 1.0])
    func theSparseMemoryBackwardEqualsTheDenseOne(density: Double) {
        let (x, _) = BatchFactory.batch(classes: 10, perClass: 2, dimension: 5, seed: 31, normalized: true)
        let (m, _) = BatchFactory.batch(classes: 15, perClass: 2, dimension: 5, seed: 32, normalized: true)
        let a = x.rows, r = a + m.rows
        let wG = Self.weights(rows: a, columns: r, density: density, seed: 33)
        let wS = Self.weights(rows: a, columns: r, density: density, seed: 34)
        for pool in [nil, ThreadPool(threads: 2), ThreadPool(threads: 3)] {
            let geometry = ReferenceGeometry(x, memory: m, pool: pool)
            for (g, s) in [(wG, nil), (nil, wS), (wG, wS)] as [(Matrix<Double>?, Matrix<Double>?)] {
                let dense = geometry.backward(gram: g, squared: s, strategy: .dense)
                let sparse = geometry.backward(gram: g, squared: s, strategy: .sparse)
                let automatic = geometry.backward(gram: g, squared: s)
                #expect(sparse.maxAbsDifference(dense) < 1e-12, "density \(density) threads \(pool?.threadCount ?? 1)")
                #expect(automatic.maxAbsDifference(dense) < 1e-12)
                // An independent oracle: Σ_k W_ik (m_k or the D² gradient) written out.
                var oracle = geometry.base.backward(gram: g.map { Self.batchBlock($0, a) }, squared: s.map { Self.batchBlock($0, a) })
                for i in 0..<a {
                    for k in 0..<m.rows {
                        let wg = g?[i, a + k] ?? 0, ws = s?[i, a + k] ?? 0
                        for c in 0..<x.columns { oracle[i, c] += wg * m[k, c] + 2 * ws * (x[i, c] - m[k, c]) }
                    }
                }
                #expect(dense.maxAbsDifference(oracle) < 1e-12)
            }
        }
    }

    static func batchBlock(_ w: Matrix<Double>, _ a: Int) -> Matrix<Double> {
        Matrix(rows: a, columns: a) { w[$0, $1] }
    }

    /// A memory of many points in few classes makes the HNPM memory gradient sparse (one weight
    /// per mining set and class): the losses then take the sparse backward, whose gradient must
    /// still match finite differences and the dense route.
    @Test func hnpmLossesWithASparseMemoryGradientMatchFiniteDifferences() throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 4, seed: 41, spread: 0.6, normalized: true)
        let (m, y) = BatchFactory.batch(classes: 3, perClass: 60, dimension: 4, seed: 42, spread: 0.6, normalized: true)
        let memory = try MemoryPoints(embeddings: m, labels: y.map { $0 + 2 })  // classes 2, 3 shared, 4 memory-only
        let configurations = [LossKind.lifted, .npair, .multisimilarity, .contrastive].flatMap { kind in
            [SynthesisKind.none, .ee].map { LossConfiguration(kind: kind, mining: .hnpm, synthesis: $0) }
        }
        for configuration in configurations {
            let output = try configuration.evaluate(x, labels: labels, memory: memory)
            let f = { (z: Matrix<Double>) in try! configuration.evaluate(z, labels: labels, memory: memory).value }
            let error = FiniteDifference.check(f, analytic: output.gradient, at: x)
            #expect(error < 1e-6, "\(configuration.kind) \(configuration.synthesis): \(error)")
        }
        // The memory block of such a loss is below the sparse threshold (the route is taken).
        let batch = try NoSynthesis().augment(x, labels: labels)
        let pairs = PositivePairs.make(labels: labels, rule: .all)
        let geometry = ReferenceGeometry(batch.points, memory: memory.embeddings)
        let hard = HardNegativePairMiner.hardestByDistance(geometry, batch: batch, memoryLabels: memory.labels,
                                                           sets: .pairs(pairs, in: batch))
        let memoryPairs = (0..<hard.groupPoint.count).filter { hard.classPoint[$0] >= batch.points.rows }.count
        #expect(Double(memoryPairs) <= ReferenceGeometry<Double>.sparseDensity * Double(batch.points.rows * memory.count))
    }

    @Test func theMinerOnThePoolFindsTheSamePairs() throws {
        let (x, labels, memory) = try Self.problem(Double.self)
        let batch = try EmbeddingExpansion().augment(x, labels: labels)
        let pairs = PositivePairs.make(labels: labels, rule: .all)
        for threads in [2, 3] {
            let serial = ReferenceGeometry(batch.points, memory: memory.embeddings)
            let pooled = ReferenceGeometry(batch.points, memory: memory.embeddings, pool: ThreadPool(threads: threads))
            let a = HardNegativePairMiner.hardestByDistance(serial, batch: batch, memoryLabels: memory.labels, sets: .pairs(pairs, in: batch))
            let b = HardNegativePairMiner.hardestByDistance(pooled, batch: batch, memoryLabels: memory.labels, sets: .pairs(pairs, in: batch))
            #expect(a.groupPoint == b.groupPoint && a.classPoint == b.classPoint)
            #expect(a.value.maxAbsDifference(b.value) < 1e-14)
        }
    }
}
