import Foundation
import Testing
import DMLNumerics
import DMLTestSupport

@Suite struct MatrixTests {
    @Test func productMatchesHandComputed() {
        let a = Matrix<Double>([[1, 2, 3], [4, 5, 6]])
        let b = Matrix<Double>([[7, 8], [9, 10], [11, 12]])
        #expect(a * b == Matrix([[58, 64], [139, 154]]))
        #expect(Matrix.product(a, a, transA: .transpose) == Matrix([[17, 22, 27], [22, 29, 36], [27, 36, 45]]))
        #expect(Matrix.product(a, a, transB: .transpose) == Matrix([[14, 32], [32, 77]]))
    }

    @Test func gemmAccumulatesWithBeta() {
        let a = Matrix<Float>([[1, 0], [0, 1]])
        let b = Matrix<Float>([[2, 3], [4, 5]])
        var c = Matrix<Float>([[1, 1], [1, 1]])
        Matrix.gemm(a, b, alpha: 2, beta: 3, into: &c)
        #expect(c == Matrix([[7, 9], [11, 13]]))
    }

    @Test func gramIsSymmetricAndEqualsProduct() {
        var rng = SeededGenerator(seed: 3)
        let x: Matrix<Double> = rng.normalMatrix(rows: 7, columns: 5)
        let g = x.gram()
        #expect(g.maxAbsDifference(Matrix.product(x, x, transB: .transpose)) < 1e-12)
        for i in 0..<7 { for j in 0..<7 { #expect(g[i, j] == g[j, i]) } }
    }

    @Test func transposeGatherAndNorms() {
        let a = Matrix<Double>([[1, 2], [3, 4], [5, 6]])
        #expect(a.transposed == Matrix([[1, 3, 5], [2, 4, 6]]))
        #expect(a.transposed.transposed == a)
        #expect(a.gatheringRows([2, 0]) == Matrix([[5, 6], [1, 2]]))
        #expect(a.rowSquaredNorms() == [5, 25, 61])
        var b = a
        b.add(a, scaledBy: -2)
        #expect(b == -1 * a)
    }

    @Test func nonFiniteIsLocated() {
        var a = Matrix<Float>(rows: 2, columns: 3, repeating: 1)
        #expect(a.isFinite)
        a[1, 2] = .nan
        #expect(!a.isFinite)
        #expect(a.firstNonFinite! == (1, 2))
    }
}

@Suite struct StableMathTests {
    @Test func logSumExpIsStable() {
        #expect(abs(StableMath.logSumExp([1000.0, 1000.0]) - (1000 + log(2.0))) < 1e-12)
        #expect(abs(StableMath.logSumExp([-1000.0, -1000.0]) - (-1000 + log(2.0))) < 1e-12)
        #expect(abs(StableMath.logSumExp([0.0, log(3.0)]) - log(4.0)) < 1e-12)
        #expect(StableMath.logSumExp([Double]()) == -.infinity)
    }

    @Test func softplusAndLogOnePlusSumExp() {
        #expect(abs(StableMath.softplus(0.0) - log(2.0)) < 1e-15)
        #expect(StableMath.softplus(800.0) == 800)
        #expect(StableMath.softplus(-800.0) >= 0)
        let v = [0.3, -1.2, 2.0]
        let direct = log(1 + v.map { exp($0) }.reduce(0, +))
        #expect(abs(v.withUnsafeBufferPointer { StableMath.logOnePlusSumExp($0) } - direct) < 1e-12)
        #expect(abs(StableMath.sigmoid(0.0) - 0.5) < 1e-15)
        #expect(abs(StableMath.sigmoid(-3.0) - 1 / (1 + exp(3.0))) < 1e-15)
    }
}

@Suite struct SeededGeneratorTests {
    @Test func sameSeedSameSequence() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        var c = SeededGenerator(seed: 43)
        let sa = (0..<10).map { _ in a.next() }
        #expect(sa == (0..<10).map { _ in b.next() })
        #expect(sa != (0..<10).map { _ in c.next() })
    }

    @Test func normalMomentsAndShuffle() {
        var g = SeededGenerator(seed: 1)
        let v = (0..<20_000).map { _ in g.nextNormal() }
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
        #expect(abs(mean) < 0.03)
        #expect(abs(variance - 1) < 0.05)
        let p = BatchFactory.permutation(50, seed: 9)
        #expect(p.sorted() == Array(0..<50))
        #expect(p == BatchFactory.permutation(50, seed: 9))
    }
}
