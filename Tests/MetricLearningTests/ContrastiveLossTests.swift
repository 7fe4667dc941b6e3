import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

@Suite struct ContrastiveLossTests {
    /// 1-D points 0, 0.5 (class 0) and 1.2, 2.0 (class 1), m = 1.
    /// Positive pairs: D(0,1) = 0.5, D(2,3) = 0.8 → mean D² = (0.25 + 0.64)/2 = 0.445.
    /// Negative pairs: D = 1.2, 2.0, 0.7, 1.5 → only 0.7 is inside the margin:
    /// [1 − 0.7]² = 0.09, mean over 4 pairs = 0.0225. L = 0.4675.
    @Test func handComputedValue() throws {
        let x = Matrix<Double>([[0], [0.5], [1.2], [2.0]])
        let out = try ContrastiveLoss().loss(x, labels: [0, 0, 1, 1])
        #expect(abs(out.value - 0.4675) < 1e-12)
        // ∂L/∂x_1: positive (x_1 − x_0)·2/2 = 0.5; negative −2·0.3/4·∂D_12/∂x_1 = −0.15·(−1) = 0.15.
        #expect(abs(out.gradient[1, 0] - 0.65) < 1e-12)
    }

    @Test(arguments: TestBatch.standard)
    func gradientMatchesFiniteDifferences(batch: TestBatch) throws {
        let (x, labels) = batch.data
        // Raw embeddings are ~2–3 apart; a larger margin keeps negative pairs active.
        let loss = ContrastiveLoss(margin: batch.normalized ? 1 : 3)
        let out = try loss.loss(x, labels: labels)
        #expect(out.value > 0)
        let errors = GradientCheck.errors(of: { try! loss.loss($0, labels: labels).value }, analytic: out.gradient, at: x)
        #expect(errors.stability < 1e-6)
        #expect(errors.gradient < 1e-6)
    }

    @Test func permutingTheBatchPermutesTheGradient() throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 3, dimension: 5, seed: 4)
        let perm = BatchFactory.permutation(9, seed: 8)
        let loss = ContrastiveLoss(margin: 3)
        let a = try loss.loss(x, labels: labels)
        let b = try loss.loss(x.gatheringRows(perm), labels: perm.map { labels[$0] })
        #expect(abs(a.value - b.value) < 1e-12)
        #expect(b.gradient.maxAbsDifference(a.gradient.gatheringRows(perm)) < 1e-12)
    }

    @Test func floatAgreesWithDouble() throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 6, seed: 2, normalized: true)
        let d = try ContrastiveLoss().loss(x, labels: labels)
        let f = try ContrastiveLoss().loss(x.converted(to: Float.self), labels: labels)
        #expect(abs(Double(f.value) - d.value) < 1e-5)
        #expect(f.gradient.converted(to: Double.self).maxAbsDifference(d.gradient) < 1e-5)
    }

    @Test func badBatchesAreRejected() {
        let x = Matrix<Double>([[0], [1], [2]])
        #expect(throws: MetricLearningError.noPositivePair) { try ContrastiveLoss().loss(x, labels: [0, 1, 2]) }
        #expect(throws: MetricLearningError.noNegativePair) { try ContrastiveLoss().loss(x, labels: [5, 5, 5]) }
        #expect(throws: MetricLearningError.labelCountMismatch(embeddings: 3, labels: 2)) {
            try ContrastiveLoss().loss(x, labels: [0, 0])
        }
        #expect(throws: MetricLearningError.self) { try ContrastiveLoss(margin: -1).loss(x, labels: [0, 0, 1]) }
    }
}
