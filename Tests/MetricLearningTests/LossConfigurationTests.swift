import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

@Suite struct LossConfigurationTests {
    static let (x, labels) = BatchFactory.batch(classes: 3, perClass: 4, dimension: 5, seed: 9, normalized: true)

    /// The plain loss of `kind` with SPEC's defaults (contrastive margin 1, triplet 0.2, lifted 1,
    /// N-pair L2 0.002, angular 45°, multi-similarity α 2, β 50, λ 0.5, ε 0.1), on the test batch.
    static func specDefault(_ kind: LossKind) throws -> LossOutput<Double> {
        switch kind {
        case .contrastive: try ContrastiveLoss(margin: 1).loss(x, labels: labels)
        case .triplet: try TripletLoss(margin: 0.2).loss(x, labels: labels)
        case .lifted: try LiftedStructuredLoss(margin: 1).loss(x, labels: labels)
        case .npair: try NPairLoss(l2Penalty: 0.002).loss(x, labels: labels)
        case .angular: try AngularLoss(degrees: 45).loss(x, labels: labels)
        case .multisimilarity: try MultiSimilarityLoss(alpha: 2, beta: 50, lambda: 0.5, epsilon: 0.1).loss(x, labels: labels)
        }
    }

    @Test(arguments: LossKind.allCases)
    func evaluateDispatchesToTheSelectedLossAndMode(kind: LossKind) throws {
        var configuration = LossConfiguration(kind: kind)
        let plain = try configuration.evaluate(Self.x, labels: Self.labels)
        // The loss built by hand with the spec's defaults, not through the configuration's switch.
        let direct = try Self.specDefault(kind)
        #expect(plain.value == direct.value && plain.gradient == direct.gradient)
        // Every other loss gives another value here, so a dispatch to the wrong loss fails.
        for other in LossKind.allCases where other != kind {
            #expect(try Self.specDefault(other).value != plain.value, "\(kind) and \(other) give the same value")
        }
        #expect(plain.syntheticFraction == nil)

        configuration.mining = .hnpm
        for synthesis in SynthesisKind.allCases {
            for pairing in PairingRule.allCases {
                configuration.synthesis = synthesis
                configuration.pairing = pairing
                let mined = try configuration.evaluate(Self.x, labels: Self.labels)
                let expected = try configuration.loss.hardNegativeLoss(Self.x, labels: Self.labels,
                                                                       synthesis: configuration.synthesisPlugin)
                #expect(mined.value == expected.value && mined.gradient == expected.gradient)
                #expect((mined.syntheticFraction == nil) == (synthesis == .none))
            }
        }
    }

    @Test func pairingOverridesThePluginsOwnPairing() throws {
        let configuration = LossConfiguration(mining: .hnpm, synthesis: .ee, pairing: .all)
        let plugin = try #require(configuration.synthesisPlugin as? EmbeddingExpansion)
        #expect(plugin.pairing == .all)
        #expect(plugin.points == 2 && plugin.normalize)
    }

    @Test func synthesisWithoutMiningIsRejected() {
        let configuration = LossConfiguration(kind: .lifted, mining: .plain, synthesis: .symm)
        #expect(throws: MetricLearningError.self) { try configuration.evaluate(Self.x, labels: Self.labels) }
    }

    @Test func defaultsAreTheSpecsAndRoundTripThroughJSON() throws {
        let defaults = LossConfiguration()
        #expect(defaults.contrastive.margin == 1 && defaults.triplet.margin == 0.2 && defaults.lifted.margin == 1)
        #expect(defaults.triplet.selection == .all && !defaults.triplet.squared && defaults.triplet.reduction == .mean)
        #expect(defaults.pairing == .adjacent && defaults.mining == .plain && defaults.synthesis == .none)
        var changed = defaults
        changed.kind = .multisimilarity
        changed.triplet.selection = .semihard
        let decoded = try JSONDecoder().decode(LossConfiguration.self, from: JSONEncoder().encode(changed))
        #expect(decoded == changed)
    }
}
