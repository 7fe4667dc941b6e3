import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// Every N-pair, angular and multi-similarity form against central finite differences in Double.
@Suite struct SimilarityLossGradientTests {
    static let losses: [(String, any HardNegativeMiningLoss)] = [
        ("npair", NPairLoss()), ("angular", AngularLoss()), ("angular30", AngularLoss(degrees: 30)),
        ("multisimilarity", MultiSimilarityLoss()), ("multisimilarity-nominer", MultiSimilarityLoss(mining: false)),
    ]

    static func check(_ loss: some HardNegativeMiningLoss, mode: LossMode, perClass: Int, normalized: Bool,
                      pairing: PairingRule = .adjacent) throws -> [Double] {
        var errors = [Double]()
        for seed in UInt64(1)...3 {
            let (x, labels) = BatchFactory.batch(classes: 3, perClass: perClass, dimension: 4, seed: seed,
                                                 spread: 0.6, normalized: normalized)
            let output = try mode.evaluate(loss, x, labels: labels, pairing: pairing)
            let analytic = output.gradient
            // A zero loss with a zero gradient would match finite differences trivially.
            #expect(output.value > 1e-3 && analytic.elements.contains { abs($0) > 1e-6 },
                    "\(mode) seed \(seed): loss \(output.value), the check needs a non-zero loss and gradient")
            let f = { (y: Matrix<Double>) in try! mode.evaluate(loss, y, labels: labels, pairing: pairing).value }
            errors.append(FiniteDifference.check(f, analytic: analytic, at: x))
        }
        return errors
    }

    @Test(arguments: 0..<losses.count, LossMode.allCases)
    func gradientMatchesFiniteDifferences(index: Int, mode: LossMode) throws {
        let (name, loss) = Self.losses[index]
        for perClass in [2, 4] {
            for normalized in [true, false] {
                let errors = try Self.check(loss, mode: mode, perClass: perClass, normalized: normalized)
                #expect(errors.allSatisfy { $0 < 1e-6 }, "\(name) \(mode) C×\(perClass) normalized \(normalized): \(errors)")
            }
        }
    }

    @Test(arguments: 0..<losses.count, [LossMode.hnpm, .hnpmExpansion, .hnpmSymmetrical])
    func gradientWithAllPairsGroupsMatchesFiniteDifferences(index: Int, mode: LossMode) throws {
        let (name, loss) = Self.losses[index]
        let errors = try Self.check(loss, mode: mode, perClass: 4, normalized: true, pairing: .all)
        #expect(errors.allSatisfy { $0 < 1e-6 }, "\(name) \(mode) all pairs: \(errors)")
    }

    @Test(arguments: 0..<losses.count)
    func floatAgreesWithDouble(index: Int) throws {
        let (_, loss) = Self.losses[index]
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 8, seed: 11, normalized: true)
        for mode in LossMode.allCases {
            let double = try mode.evaluate(loss, x, labels: labels)
            let float = try mode.evaluate(loss, x.converted(to: Float.self), labels: labels)
            #expect(abs(Double(float.value) - double.value) < 1e-4 * max(1, abs(double.value)))
            #expect(float.gradient.converted(to: Double.self).maxAbsDifference(double.gradient) < 1e-4)
        }
    }

    @Test(arguments: 0..<losses.count)
    func permutingTheBatchPermutesTheGradient(index: Int) throws {
        let (_, loss) = Self.losses[index]
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 4, dimension: 5, seed: 21)
        let perm = classOrderPreservingPermutation(labels: labels, seed: 5)
        let original = try loss.loss(x, labels: labels)
        let permuted = try loss.loss(x.gatheringRows(perm), labels: perm.map { labels[$0] })
        #expect(abs(permuted.value - original.value) < 1e-12)
        #expect(permuted.gradient.maxAbsDifference(original.gradient.gatheringRows(perm)) < 1e-12)
    }

    @Test(arguments: 0..<losses.count)
    func detachedSynthesisStillHasAFiniteDifferenceGradientOnTheOriginalPath(index: Int) throws {
        // With detach the loss is differentiated as if the synthetic points were constants:
        // freeze them at their values and compare with finite differences of that function.
        let (_, loss) = Self.losses[index]
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 2, dimension: 4, seed: 31, normalized: true)
        let detached = try loss.hardNegativeLoss(x, labels: labels, synthesis: EmbeddingExpansion(detach: true))
        let frozen = try EmbeddingExpansion().augment(x, labels: labels)
        let f = { (y: Matrix<Double>) in
            try! loss.hardNegativeLoss(y, labels: labels, synthesis: FrozenSynthesis(template: frozen)).value
        }
        #expect(FiniteDifference.check(f, analytic: detached.gradient, at: x) < 1e-6)
    }
}

/// A synthesis that returns fixed synthetic points (those of `template`) whatever the originals,
/// so its loss is the detached loss as a function of the originals.
private struct FrozenSynthesis: EmbeddingSynthesis {
    let template: AugmentedBatch<Double>

    func augment<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> AugmentedBatch<T> {
        var points = AugmentedBatch.pointMatrix(originals: embeddings, syntheticRows: template.syntheticCount)
        for k in embeddings.rows..<points.rows {
            for c in 0..<points.columns { points[k, c] = T(template.points[k, c]) }
        }
        return AugmentedBatch(points: points, originalCount: embeddings.rows, labels: labels,
                              pairs: template.groups.map(\.pair), pointsPerPair: template.pointsPerPair,
                              origin: .none, detach: false)
    }
}
