import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// Values of the N-pair, angular and multi-similarity losses in every mode against hand-computed
/// cases (batches and their Gram matrices in SimilarityLossSupport.swift).
@Suite struct SimilarityLossValueTests {
    private func value(_ loss: some HardNegativeMiningLoss, _ mode: LossMode,
                       _ batch: (x: Matrix<Double>, labels: [Int])) throws -> LossOutput<Double> {
        try mode.evaluate(loss, batch.x, labels: batch.labels)
    }

    @Test func nPair() throws {
        // Plain, pairs (0,1), (2,3): pair 0: s00⁺ = S01 = 0.8, other positive x3: S03 = 0.6 → log(1 + e^−0.2);
        // pair 1: S23 = 0.8, other positive x1: S21 = 0.6 → log(1 + e^−0.2). Penalty: λ·mean‖x‖² = 0.002·1.
        #expect(abs(try value(NPairLoss(), .plain, handBatch).value - (log(1 + exp(-0.2)) + 0.002)) < 1e-12)
        // HNPM: s⁺(g0, 1) = max(S02, S03, S12, S13) = 0.96 = s⁺(g1, 0) → log(1 + e^(0.96 − 0.8)) per pair.
        let hnpm = try value(NPairLoss(), .hnpm, handBatch)
        #expect(abs(hnpm.value - (log(1 + exp(0.16)) + 0.002)) < 1e-12)
        #expect(hnpm.syntheticFraction == nil)
        // HNPM + EE: s⁺ = 2.2/√5 for both pairs, S01 = 0, S23 = 0.28, unit norms.
        let s = 2.2 / 5.0.squareRoot()
        let ee = try value(NPairLoss(), .hnpmExpansion, expansionBatch)
        #expect(abs(ee.value - ((log(1 + exp(s)) + log(1 + exp(s - 0.28))) / 2 + 0.002)) < 1e-12)
        #expect(ee.syntheticFraction == 1)
        // HNPM + Symm: s⁺ = 0.936 for both pairs, S01 = S23 = 0.6 → log(1 + e^0.336) + 0.002.
        let symm = try value(NPairLoss(), .hnpmSymmetrical, symmetricalBatch)
        #expect(abs(symm.value - (log(1 + exp(0.336)) + 0.002)) < 1e-12)
        #expect(symm.syntheticFraction == 1)
    }

    @Test func angular() throws {
        // θ = 45°: f = 4(x_a + x_p)·x_n − 4 x_a·x_p. Plain: pair (0,1): x0 + x1 = (1.8, 0.6), S01 = 0.8;
        // n = x2: 0.6 → f = 2.4 − 3.2 = −0.8; n = x3: 1.56 → f = 6.24 − 3.2 = 3.04. Pair (2,3) mirrors
        // it (x2 + x3 = (0.6, 1.8); x0: 0.6, x1: 1.56). L = log(1 + e^−0.8 + e^3.04).
        #expect(abs(try value(AngularLoss(), .plain, handBatch).value - log(1 + exp(-0.8) + exp(3.04))) < 1e-12)
        // HNPM: one n per class, the largest (x_a + x_p)·x_n: 1.56 → L = log(1 + e^3.04).
        #expect(abs(try value(AngularLoss(), .hnpm, handBatch).value - log(1 + exp(3.04))) < 1e-12)
        // HNPM + EE: pair (0,1): x0 + x1 = (1, 1), S01 = 0; class 1: x2 → 1.4, x3 → 0.2, x6 → 0.6/√0.68,
        // x7 → 1/√0.68 ≈ 1.213: n = x2, f = 5.6. Pair (2,3): x2 + x3 = (0, 1.6), S23 = 0.28; class 0:
        // x0 → 0, x1 → 1.6, x4 → 3.2/√5 ≈ 1.43, x5 → 1.6/√5: n = x1, f = 6.4 − 1.12 = 5.28. No synthetic point.
        let ee = try value(AngularLoss(), .hnpmExpansion, expansionBatch)
        #expect(abs(ee.value - (log(1 + exp(5.6)) + log(1 + exp(5.28))) / 2) < 1e-12)
        #expect(ee.syntheticFraction == 0)
        // HNPM + Symm: pair (0,1): x0 + x1 = (1.6, 0.8), S01 = 0.6; class 1: x2, x3 → −1.6, x6 → 0.448 − 0.768
        // = −0.32, x7 → −0.96 + 0.64 = −0.32: n synthetic, f = −1.28 − 2.4 = −3.68; pair (2,3) mirrors it.
        let symm = try value(AngularLoss(), .hnpmSymmetrical, symmetricalBatch)
        #expect(abs(symm.value - log(1 + exp(-3.68))) < 1e-12)
        #expect(symm.syntheticFraction == 1)
    }

    @Test func multiSimilarity() throws {
        // α = 2, β = 50, λ = 0.5, ε = 0.1. Plain with miner: anchor 0: positives {S01 = 0.8}, negatives
        // {S02 = 0, S03 = 0.6}; keep a negative if S + 0.1 > 0.8 (none), a positive if 0.8 − 0.1 < 0.6
        // (no) → L0 = 0; anchor 2 likewise. Anchor 1: positive S10 = 0.8, negatives S12 = 0.6, S13 = 0.96;
        // keeps S13 (1.06 > 0.8) and S10 (0.7 < 0.96): L1 = ½ log(1 + e^(−2·0.3)) + 1/50 log(1 + e^(50·0.46));
        // anchor 3 likewise. L = (0 + L1 + 0 + L1)/4.
        let l1 = 0.5 * log(1 + exp(-0.6)) + 0.02 * log(1 + exp(23))
        #expect(abs(try value(MultiSimilarityLoss(), .plain, handBatch).value - l1 / 2) < 1e-12)
        // Without the miner every pair counts: L0 = ½ log(1 + e^−0.6) + 1/50 log(1 + e^(50·−0.5) + e^(50·0.1)),
        // L1 = ½ log(1 + e^−0.6) + 1/50 log(1 + e^(50·0.1) + e^(50·0.46)), anchors 2, 3 repeat them.
        let l0 = 0.5 * log(1 + exp(-0.6)) + 0.02 * log(1 + exp(-25) + exp(5))
        let l1All = 0.5 * log(1 + exp(-0.6)) + 0.02 * log(1 + exp(5) + exp(23))
        #expect(abs(try value(MultiSimilarityLoss(mining: false), .plain, handBatch).value - (l0 + l1All) / 2) < 1e-12)
        // HNPM: every anchor's group meets the other class at s⁺ = S13 = 0.96: L_i = L1 for all i.
        #expect(abs(try value(MultiSimilarityLoss(), .hnpm, handBatch).value - l1) < 1e-12)
        // HNPM + EE: positives S01 = 0 (anchors 0, 1) and S23 = 0.28 (anchors 2, 3); s⁺ = 2.2/√5 for all.
        let s = 2.2 / 5.0.squareRoot()
        let ee = try value(MultiSimilarityLoss(), .hnpmExpansion, expansionBatch)
        let eeExpected = (0.5 * log(1 + exp(1)) + 0.5 * log(1 + exp(0.44))) / 2 + 0.02 * log(1 + exp(50 * (s - 0.5)))
        #expect(abs(ee.value - eeExpected) < 1e-12)
        #expect(ee.syntheticFraction == 1)
        // HNPM + Symm: positives S01 = S23 = 0.6, s⁺ = 0.936: L = ½ log(1 + e^−0.2) + 1/50 log(1 + e^(50·0.436)).
        let symm = try value(MultiSimilarityLoss(), .hnpmSymmetrical, symmetricalBatch)
        #expect(abs(symm.value - (0.5 * log(1 + exp(-0.2)) + 0.02 * log(1 + exp(21.8)))) < 1e-12)
        #expect(symm.syntheticFraction == 1)
    }

    @Test func invalidBatchesAndOptionsAreClearErrors() {
        let x = Matrix<Double>([[1, 0], [0, 1], [1, 1]])
        let losses: [any HardNegativeMiningLoss] = [NPairLoss(), AngularLoss(), MultiSimilarityLoss()]
        for loss in losses {
            #expect(throws: MetricLearningError.noNegativePair) { try loss.loss(x, labels: [0, 0, 0]) }
            #expect(throws: MetricLearningError.noPositivePair) { try loss.loss(x, labels: [0, 1, 2]) }
            #expect(throws: MetricLearningError.labelCountMismatch(embeddings: 3, labels: 2)) {
                try loss.hardNegativeLoss(x, labels: [0, 1], synthesis: NoSynthesis())
            }
        }
        #expect(throws: MetricLearningError.self) { try AngularLoss(degrees: 90).loss(x, labels: [0, 0, 1]) }
        #expect(throws: MetricLearningError.self) { try NPairLoss(l2Penalty: -1).loss(x, labels: [0, 0, 1]) }
        #expect(throws: MetricLearningError.self) { try MultiSimilarityLoss(beta: 0).loss(x, labels: [0, 0, 1]) }
    }
}
