import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

@Suite struct LossConfigurationTests {
    static let (x, labels) = BatchFactory.batch(classes: 3, perClass: 4, dimension: 5, seed: 9, normalized: true)

    @Test(arguments: LossKind.allCases)
    func evaluateDispatchesToTheSelectedLossAndMode(kind: LossKind) throws {
        var configuration = LossConfiguration(kind: kind)
        let plain = try configuration.evaluate(Self.x, labels: Self.labels)
        let direct = try configuration.loss.loss(Self.x, labels: Self.labels)
        #expect(plain.value == direct.value && plain.gradient == direct.gradient)
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
