import Foundation
import Testing
@testable import DMLNumerics
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
        // log(1 + e⁻⁸⁰⁰) ≈ 1e−347 rounds to 0; at −30 it is e⁻³⁰ − e⁻⁶⁰/2 + … (relative 1e−13 from e⁻³⁰).
        #expect(StableMath.softplus(-800.0) == 0)
        #expect(abs(StableMath.softplus(-30.0) - (exp(-30.0) - exp(-60.0) / 2)) <= 4e-16 * exp(-30.0))
        let v = [0.3, -1.2, 2.0]
        let direct = log(1 + v.map { exp($0) }.reduce(0, +))
        #expect(abs(v.withUnsafeBufferPointer { StableMath.logOnePlusSumExp($0) } - direct) < 1e-12)
        #expect(abs(StableMath.sigmoid(0.0) - 0.5) < 1e-15)
        #expect(abs(StableMath.sigmoid(-3.0) - 1 / (1 + exp(3.0))) < 1e-15)
    }
}

@Suite struct SeededGeneratorTests {
    // Known-answer vectors printed by scripts/rng-reference-vectors.c (the reference C algorithms
    // of SplitMix64 and xoshiro256**, compiled with gcc).
    @Test func splitMix64MatchesTheReference() {
        var state: UInt64 = 0
        #expect((0..<4).map { _ in SeededGenerator.splitMix64(&state) }
                == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC])
        state = 42
        #expect((0..<4).map { _ in SeededGenerator.splitMix64(&state) }
                == [0xBDD7_3226_2FEB_6E95, 0x28EF_E333_B266_F103, 0x4752_6757_130F_9F52, 0x581C_E1FF_0E4A_E394])
    }

    @Test func xoshiro256StarStarMatchesTheReference() {
        var zero = SeededGenerator(seed: 0)
        #expect((0..<6).map { _ in zero.next() } == [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0,
                                                     0x6AA5_94F1_262D_2D2C, 0xBBA5_AD4A_1F84_2E59, 0xFFEF_8375_D9EB_CACA])
        var fortyTwo = SeededGenerator(seed: 42)
        #expect((0..<6).map { _ in fortyTwo.next() } == [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1,
                                                         0xECB8_AD47_03B3_60A1, 0xFDE6_DC7F_E2EC_5E64, 0xC50D_A531_0179_5238])
    }

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
