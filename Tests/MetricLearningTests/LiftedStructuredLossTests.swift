import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

@Suite struct LiftedStructuredLossTests {
    /// 1-D points 0, 1 (class 0) and 3, 3.5 (class 1), α = 1. Negatives: of x0 at 3, 3.5; of x1 at
    /// 2, 2.5; of x2 at 3, 2; of x3 at 3.5, 2.5. Both pairs see the same sum
    /// S = e^{−2} + e^{−2.5} + e^{−1} + e^{−1.5} = 0.731479…, log S = −0.212661…
    /// J01 = log S + 1 = 0.787339, J23 = log S + 0.5 = 0.287339;
    /// L = (J01² + J23²) / (2·2) = (0.619902 + 0.082564) / 4 = 0.175616.
    @Test func handComputedValue() throws {
        let x = Matrix<Double>([[0], [1], [3], [3.5]])
        let out = try LiftedStructuredLoss().loss(x, labels: [0, 0, 1, 1])
        #expect(abs(out.value - 0.17561642405126257) < 1e-12)
    }

    @Test(arguments: TestBatch.standard)
    func gradientMatchesFiniteDifferences(batch: TestBatch) throws {
        let (x, labels) = batch.data
        let loss = LiftedStructuredLoss(margin: batch.normalized ? 1 : 2)
        let out = try loss.loss(x, labels: labels)
        #expect(out.value > 0)
        let errors = GradientCheck.errors(of: { try! loss.loss($0, labels: labels).value }, analytic: out.gradient, at: x)
        #expect(errors.stability < 1e-6)
        #expect(errors.gradient < 1e-6)
    }

    @Test func largeDistancesDoNotOverflow() throws {
        // Points 0, 3000 (class 0) and 1500, 4500 (class 1): every exp(α − D) is exp(−1499) or
        // smaller, 0 in Float without the max shift (which would make J = −∞ and the loss 0).
        // Each positive pair (D = 3000) has three negatives at 1500 and one at 4500, so
        // J = 3000 + (1 − 1500) + log(3 + e⁻³⁰⁰⁰) = 1501 + log 3 for both pairs, L = J² / 2, and
        // ∂L/∂x₀ = (J / 2)(−1 + 1/3) + (J / 2)(1/3) = −J / 6 (the softmax weights are 1/3).
        let x = Matrix<Float>([[0], [3000], [1500], [4500]])
        let out = try LiftedStructuredLoss().loss(x, labels: [0, 0, 1, 1])
        let j: Double = 1501 + Foundation.log(3.0)
        let value = Double(out.value), expected: Double = j * j / 2
        #expect(abs(value - expected) <= 1e-5 * expected, "\(out.value)")
        let g0 = Double(out.gradient[0, 0])
        #expect(abs(g0 + j / 6) <= 1e-4 * j, "\(out.gradient)")
        // Translating every point leaves L unchanged, so the gradients sum to zero.
        var total = 0.0
        for i in 0..<4 { total += Double(out.gradient[i, 0]) }
        #expect(abs(total) <= 1e-4 * j, "\(out.gradient)")
    }

    @Test func permutingTheBatchPermutesTheGradient() throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 3, dimension: 5, seed: 4)
        let perm = BatchFactory.permutation(9, seed: 8)
        let loss = LiftedStructuredLoss(margin: 2)
        let a = try loss.loss(x, labels: labels)
        let b = try loss.loss(x.gatheringRows(perm), labels: perm.map { labels[$0] })
        #expect(abs(a.value - b.value) < 1e-12)
        #expect(b.gradient.maxAbsDifference(a.gradient.gatheringRows(perm)) < 1e-12)
    }

    @Test func badBatchesAreRejected() {
        let x = Matrix<Double>([[0], [1], [2]])
        #expect(throws: MetricLearningError.noPositivePair) { try LiftedStructuredLoss().loss(x, labels: [0, 1, 2]) }
        #expect(throws: MetricLearningError.noNegativePair) { try LiftedStructuredLoss().loss(x, labels: [5, 5, 5]) }
    }
}
