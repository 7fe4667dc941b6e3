import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// The blocked computation over the memory columns (`ReferenceGeometry`'s tiles): the forward
/// matrices and the backward against written-out Double sums, across tile sizes, thread counts
/// and memory sizes that are not multiples of the tile; and every loss with a memory of more than
/// two default tiles.
@Suite struct TiledMemoryTests {
    /// A batch of `a` rows and a memory of `n` rows, dimension `d`, in Float.
    static func points(a: Int, n: Int, d: Int, seed: UInt64) -> (Matrix<Float>, Matrix<Float>) {
        var rng = SeededGenerator(seed: seed)
        let x: Matrix<Double> = rng.normalMatrix(rows: a, columns: d)
        let m: Matrix<Double> = rng.normalMatrix(rows: n, columns: d)
        return (x.converted(to: Float.self), m.converted(to: Float.self))
    }

    static func bits(_ m: Matrix<Float>) -> [UInt32] { m.elements.map(\.bitPattern) }

    /// `G`, `D²`, `D` of the memory block written out in Double from the Float inputs.
    static func oracle(_ x: Matrix<Float>, _ m: Matrix<Float>) -> (g: Matrix<Double>, s: Matrix<Double>, d: Matrix<Double>) {
        var g = Matrix<Double>(rows: x.rows, columns: m.rows), s = g, d = g
        for i in 0..<x.rows {
            for k in 0..<m.rows {
                var dot = 0.0, squared = 0.0
                for c in 0..<x.columns {
                    dot += Double(x[i, c]) * Double(m[k, c])
                    let e = Double(x[i, c]) - Double(m[k, c])
                    squared += e * e
                }
                g[i, k] = dot
                s[i, k] = squared
                d[i, k] = squared.squareRoot()
            }
        }
        return (g, s, d)
    }

    @Test(arguments: [1, 5, 37, 130])
    func theTiledForwardMatchesTheWrittenOutSumsAtEveryTileAndThreadCount(memorySize n: Int) {
        let a = 20, d = 9
        let (x, m) = Self.points(a: a, n: n, d: d, seed: UInt64(50 + n))
        let expected = Self.oracle(x, m)
        for tile in [1, 3, 16, 64, 512] {
            let serial = ReferenceGeometry(x, memory: m, tile: tile)
            for threads in [1, 2, 3] {
                let pool = threads == 1 ? nil : ThreadPool(threads: threads)
                let geometry = ReferenceGeometry(x, memory: m, pool: pool, tile: tile)
                let name = "N = \(n), tile \(tile), \(threads) threads"
                for i in 0..<a {
                    for k in 0..<n {
                        #expect(abs(Double(geometry.gram[i, a + k]) - expected.g[i, k]) <= 1e-5 * (1 + abs(expected.g[i, k])), "\(name)")
                        #expect(abs(Double(geometry.squared[i, a + k]) - expected.s[i, k]) <= 1e-4 * (1 + expected.s[i, k]), "\(name)")
                        #expect(abs(Double(geometry.distances[i, a + k]) - expected.d[i, k]) <= 1e-4 * (1 + expected.d[i, k]), "\(name)")
                    }
                }
                // The batch block is PairwiseDistances' own.
                for i in 0..<a {
                    for j in 0..<a { #expect(geometry.gram[i, j].bitPattern == geometry.base.gram[i, j].bitPattern) }
                }
                // The tiles do not depend on the thread count: the same bits at every count.
                #expect(Self.bits(geometry.gram) == Self.bits(serial.gram), "\(name)")
                #expect(Self.bits(geometry.squared) == Self.bits(serial.squared), "\(name)")
                #expect(Self.bits(geometry.distances) == Self.bits(serial.distances), "\(name)")
            }
        }
    }

    /// `∂L/∂P` of the memory block written out in Double: `Σ_k W_G,ik m_k + 2 W_S,ik (p_i − m_k)`.
    static func backwardOracle(_ x: Matrix<Float>, _ m: Matrix<Float>, gram wG: Matrix<Float>?, squared wS: Matrix<Float>?,
                               base: Matrix<Float>) -> Matrix<Double> {
        let a = x.rows
        var out = Matrix<Double>(rows: a, columns: x.columns) { Double(base[$0, $1]) }
        for i in 0..<a {
            for k in 0..<m.rows {
                let g = Double(wG?[i, a + k] ?? 0), s = Double(wS?[i, a + k] ?? 0)
                for c in 0..<x.columns { out[i, c] += g * Double(m[k, c]) + 2 * s * (Double(x[i, c]) - Double(m[k, c])) }
            }
        }
        return out
    }

    @Test(arguments: [1, 37, 130])
    func theTiledBackwardMatchesTheWrittenOutSumAndRepeatsExactly(memorySize n: Int) {
        let a = 20, d = 9, r = a + n
        let (x, m) = Self.points(a: a, n: n, d: d, seed: UInt64(70 + n))
        var rng = SeededGenerator(seed: UInt64(80 + n))
        let wG: Matrix<Float> = (rng.normalMatrix(rows: a, columns: r) as Matrix<Double>).converted(to: Float.self)
        let wS: Matrix<Float> = (rng.normalMatrix(rows: a, columns: r) as Matrix<Double>).converted(to: Float.self)
        for (g, s) in [(wG, nil), (nil, wS), (wG, wS)] as [(Matrix<Float>?, Matrix<Float>?)] {
            let batchOnly = ReferenceGeometry(x, memory: nil).backward(gram: g.map { Self.batchBlock($0, a) },
                                                                        squared: s.map { Self.batchBlock($0, a) })
            let expected = Self.backwardOracle(x, m, gram: g, squared: s, base: batchOnly)
            let scale = expected.elements.map { abs($0) }.max() ?? 1
            for tile in [1, 3, 16, 512] {
                for threads in [1, 2, 3] {
                    let pool = threads == 1 ? nil : ThreadPool(threads: threads)
                    let geometry = ReferenceGeometry(x, memory: m, pool: pool, tile: tile)
                    let name = "N = \(n), tile \(tile), \(threads) threads, W_G \(g != nil), W_S \(s != nil)"
                    for strategy in [MemoryBackward.dense, .sparse] {
                        let out = geometry.backward(gram: g, squared: s, strategy: strategy)
                        let again = geometry.backward(gram: g, squared: s, strategy: strategy)
                        #expect(Self.bits(out) == Self.bits(again), "\(name) \(strategy)")
                        var worst = 0.0
                        for i in 0..<a {
                            for c in 0..<d { worst = max(worst, abs(Double(out[i, c]) - expected[i, c])) }
                        }
                        #expect(worst <= 2e-5 * max(1, scale), "\(name) \(strategy): \(worst)")
                    }
                }
            }
        }
    }

    static func batchBlock(_ w: Matrix<Float>, _ a: Int) -> Matrix<Float> {
        Matrix(rows: a, columns: a) { w[$0, $1] }
    }

    /// A 6 × 2 batch and a memory of 1,100 points (two default tiles and 76 columns) in 550
    /// classes, some shared with the batch.
    static func largeMemoryProblem<T: BLASScalar>(_: T.Type, classes: Int = 6, memoryClasses: Int = 550, dimension: Int = 5) throws
        -> (Matrix<T>, [Int], MemoryPoints<T>) {
        let (x, labels) = BatchFactory.batch(classes: classes, perClass: 2, dimension: dimension, seed: 91, spread: 0.6, normalized: true)
        let (m, y) = BatchFactory.batch(classes: memoryClasses, perClass: 1100 / memoryClasses, dimension: dimension, seed: 92,
                                        spread: 0.6, normalized: true)
        return (x.converted(to: T.self), labels, try MemoryPoints(embeddings: m.converted(to: T.self), labels: y.map { $0 + 3 }))
    }

    @Test func everyLossWithAMemoryOfSeveralTilesMatchesDoublesAndRepeatsExactlyAtEveryThreadCount() throws {
        let (x, labels, memory) = try Self.largeMemoryProblem(Float.self)
        let (xd, _, memoryD) = try Self.largeMemoryProblem(Double.self)
        for configuration in PooledLossTests.configurations {
            let reference = try configuration.evaluate(xd, labels: labels, memory: memoryD)
            let scale = max(1, reference.gradient.elements.map { abs($0) }.max() ?? 0)
            for threads in [1, 2, 3] {
                let pool = threads == 1 ? nil : ThreadPool(threads: threads)
                let name = "\(configuration.kind) \(configuration.mining) \(configuration.synthesis) at \(threads) threads"
                let output = try configuration.evaluate(x, labels: labels, memory: memory, pool: pool)
                let again = try configuration.evaluate(x, labels: labels, memory: memory, pool: pool)
                #expect(output.value.bitPattern == again.value.bitPattern, "\(name)")
                #expect(Self.bits(output.gradient) == Self.bits(again.gradient), "\(name)")
                #expect(abs(Double(output.value) - reference.value) <= 2e-4 * max(1, abs(reference.value)), "\(name)")
                var worst = 0.0
                for (u, v) in zip(output.gradient.elements, reference.gradient.elements) { worst = max(worst, abs(Double(u) - v)) }
                #expect(worst <= 2e-4 * scale, "\(name): \(worst)")
            }
        }
    }

    /// Dimension 8: in 5 dimensions 1,100 memory points put near-ties between candidate pairs
    /// within the finite-difference step for HNPM + EE (with or without tiles).
    @Test func gradientsWithAMemoryOfSeveralTilesMatchFiniteDifferences() throws {
        let memoryClasses = 550
        let (x, labels, memory) = try Self.largeMemoryProblem(Double.self, classes: 4, memoryClasses: memoryClasses, dimension: 8)
        let pool = ThreadPool(threads: 2)
        for configuration in PooledLossTests.configurations {
            let output = try configuration.evaluate(x, labels: labels, memory: memory, pool: pool)
            let f = { (z: Matrix<Double>) in try! configuration.evaluate(z, labels: labels, memory: memory).value }
            let error = FiniteDifference.check(f, analytic: output.gradient, at: x)
            #expect(error < 1e-6, "\(memoryClasses) \(configuration.kind) \(configuration.mining) \(configuration.synthesis): \(error)")
        }
    }
}
