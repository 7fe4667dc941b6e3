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
    /// `log(1 + Σ exp(v))` and the weights `exp(v_k) / (1 + Σ exp(v))`, computed directly in Double.
    private func direct(_ v: [Double]) -> (value: Double, weights: [Double]) {
        let denominator = 1 + v.map { exp($0) }.reduce(0, +)
        return (log(denominator), v.map { exp($0) / denominator })
    }

    @Test func logOnePlusSumExpMatchesTheDirectFormulaAndItsGradient() {
        for v in [[0.3, -1.2, 2.0], [5.0], [-3.0, -3.0, -0.5, 1.0]] {
            var w = v
            let value = w.withUnsafeMutableBufferPointer { StableMath.logOnePlusSumExp(overwritingWithWeights: $0.baseAddress!, count: $0.count) }
            let expected = direct(v)
            #expect(abs(value - expected.value) < 1e-12)
            for k in v.indices { #expect(abs(w[k] - expected.weights[k]) < 1e-12) }
            // The weights are the gradient: central differences of the value.
            for k in v.indices {
                var plus = v, minus = v
                plus[k] += 1e-6
                minus[k] -= 1e-6
                #expect(abs((direct(plus).value - direct(minus).value) / 2e-6 - w[k]) < 1e-8)
            }
        }
        let unused = UnsafeMutablePointer<Double>.allocate(capacity: 1)
        defer { unused.deallocate() }
        #expect(StableMath.logOnePlusSumExp(overwritingWithWeights: unused, count: 0) == 0)
    }

    @Test func theShiftKeepsLargeAndSmallExponentsFinite() {
        // exp(1000) overflows, exp(−1000) underflows: the direct formula fails, the shifted one does not.
        var big = [1000.0, 1000.0]
        let value = big.withUnsafeMutableBufferPointer { StableMath.logOnePlusSumExp(overwritingWithWeights: $0.baseAddress!, count: 2) }
        #expect(abs(value - (1000 + log(2.0))) < 1e-12)
        #expect(abs(big[0] - 0.5) < 1e-15 && abs(big[1] - 0.5) < 1e-15)
        var small = [-1000.0]
        let tiny = small.withUnsafeMutableBufferPointer { StableMath.logOnePlusSumExp(overwritingWithWeights: $0.baseAddress!, count: 1) }
        #expect(tiny == 0 && small[0] == 0)
        var float: [Float] = [100, 90]
        let f = float.withUnsafeMutableBufferPointer { StableMath.logOnePlusSumExp(overwritingWithWeights: $0.baseAddress!, count: 2) }
        #expect(abs(Double(f) - (100 + log(1 + exp(-10.0)))) < 1e-4 && float[0].isFinite)
    }

    @Test func logAddExpIsStable() {
        #expect(abs(StableMath.logAddExp(0.0, log(3.0)) - log(4.0)) < 1e-15)
        #expect(StableMath.logAddExp(1000.0, 1000.0) == 1000 + log(2.0))
        #expect(StableMath.logAddExp(-1000.0, -1000.0) == -1000 + log(2.0))
        // log(e⁰ + e⁻⁴⁰) = log1p(e⁻⁴⁰) ≈ e⁻⁴⁰: kept by log1p, lost by log(1 + x).
        #expect(abs(StableMath.logAddExp(-40.0, 0.0) - exp(-40.0)) <= 1e-15 * exp(-40.0))
        #expect(StableMath.logAddExp(2.0, -1.0) == StableMath.logAddExp(-1.0, 2.0))
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
