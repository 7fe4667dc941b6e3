import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// The HNPM forms of the contrastive, triplet and lifted structured losses, in every mode.
@Suite struct HardNegativeMiningLossTests {
    /// The losses under test, with margins that keep terms active on raw (~2–3 apart) and
    /// normalized embeddings.
    static func losses(normalized: Bool, withReductions: Bool = true) -> [(name: String, loss: any HardNegativeMiningLoss)] {
        var losses: [(name: String, loss: any HardNegativeMiningLoss)] = [
            ("contrastive", ContrastiveLoss(margin: normalized ? 1 : 3)),
            ("lifted", LiftedStructuredLoss(margin: normalized ? 1 : 2)),
        ]
        for selection in TripletSelection.allCases {
            for squared in [false, true] {
                let margin = normalized ? (squared ? 1.5 : 0.5) : (squared ? 6 : 2)
                losses.append(("triplet \(selection) \(squared ? "D²" : "D")",
                               TripletLoss(margin: margin, squared: squared, selection: selection)))
            }
        }
        if withReductions {
            losses.append(("triplet all nonzero", TripletLoss(margin: normalized ? 0.5 : 2, reduction: .nonzero)))
        }
        return losses
    }

    /// The value of each loss computed from the brute-force oracle, straight from the formulas of §5.
    static func bruteForceValue(_ loss: any HardNegativeMiningLoss, _ oracle: HardNegativeOracle) -> Double {
        switch loss {
        case let contrastive as ContrastiveLoss:
            let positive = oracle.positive.reduce(0) { $0 + $1 * $1 } / Double(oracle.pairs.count)
            let negatives = oracle.hardest.flatMap { $0.values.map { max(contrastive.margin - $0, 0) * max(contrastive.margin - $0, 0) } }
            return positive + negatives.reduce(0, +) / Double(negatives.count)
        case let lifted as LiftedStructuredLoss:
            let terms = zip(oracle.positive, oracle.hardest).map { dij, hardest in
                let j = log(hardest.values.reduce(0) { $0 + exp(lifted.margin - $1) }) + dij
                return max(j, 0) * max(j, 0)
            }
            return terms.reduce(0, +) / Double(2 * oracle.pairs.count)
        case let triplet as TripletLoss:
            var terms = [Double]()
            for (dij, hardest) in zip(oracle.positive, oracle.hardest) {
                let p = triplet.squared ? dij * dij : dij
                let negatives = hardest.sorted { $0.key < $1.key }.map { triplet.squared ? $0.value * $0.value : $0.value }
                switch triplet.selection {
                case .all: terms += negatives.map { max(p - $0 + triplet.margin, 0) }
                case .semihard: terms += negatives.filter { p < $0 && $0 < p + triplet.margin }.map { p - $0 + triplet.margin }
                case .hardest: terms.append(max(p - negatives.min()! + triplet.margin, 0))
                }
            }
            let count = triplet.reduction == .mean ? terms.count : terms.filter { $0 > 0 }.count
            return count == 0 ? 0 : terms.reduce(0, +) / Double(count)
        default:
            fatalError("no oracle for \(loss)")
        }
    }

    /// (The `nonzero` reduction only rescales the `mean` gradient; its value is checked below.)
    @Test(arguments: HNPMMode.all, TestBatch.reduced)
    func gradientMatchesFiniteDifferences(mode: HNPMMode, batch: TestBatch) throws {
        let (x, labels) = batch.data
        for (name, loss) in Self.losses(normalized: batch.normalized, withReductions: false) {
            let out = try loss.hardNegativeLoss(x, labels: labels, synthesis: mode.synthesis)
            let errors = GradientCheck.errors(
                of: { try! loss.hardNegativeLoss($0, labels: labels, synthesis: mode.synthesis).value },
                analytic: out.gradient, at: x)
            // Semi-hard selection may legitimately select nothing.
            #expect(out.value > 0 || (loss as? TripletLoss)?.selection == .semihard, "\(name)")
            #expect(errors.stability < 1e-6, "\(name): numeric gradient unstable (kink)")
            #expect(errors.gradient < 1e-6, "\(name)")
        }
    }

    @Test(arguments: HNPMMode.all, TestBatch.standard)
    func valueMatchesBruteForceEnumeration(mode: HNPMMode, batch: TestBatch) throws {
        let (x, labels) = batch.data
        let oracle = try HardNegativeOracle(x, labels: labels, synthesis: mode.synthesis)
        for (name, loss) in Self.losses(normalized: batch.normalized) {
            let out = try loss.hardNegativeLoss(x, labels: labels, synthesis: mode.synthesis)
            #expect(abs(out.value - Self.bruteForceValue(loss, oracle)) < 1e-12, "\(name)")
        }
    }

    /// With no synthesis and one pair per class, the analytic HNPM gradient matches central
    /// differences of the brute-force enumeration itself (an oracle sharing no code with the loss).
    @Test(arguments: [false, true])
    func gradientMatchesFiniteDifferencesOfTheBruteForceEnumeration(normalized: Bool) throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 2, dimension: 3, seed: 21, normalized: normalized)
        for (name, loss) in Self.losses(normalized: normalized, withReductions: false) {
            let out = try loss.hardNegativeLoss(x, labels: labels, synthesis: NoSynthesis())
            let oracle = { (y: Matrix<Double>) in
                Self.bruteForceValue(loss, try! HardNegativeOracle(y, labels: labels, synthesis: NoSynthesis()))
            }
            let errors = GradientCheck.errors(of: oracle, analytic: out.gradient, at: x)
            #expect(errors.stability < 1e-6, "\(name): numeric gradient unstable (kink)")
            #expect(errors.gradient < 1e-6, "\(name)")
        }
    }

    /// With no synthesis and one pair per class, the contrastive HNPM negative mean equals the
    /// spec's mean over unordered class pairs {a, b} of [m − min_{p∈a, n∈b} D_pn]_+², enumerated here.
    @Test(arguments: [UInt64(1), 2, 3])
    func contrastiveMeanIsOverUnorderedClassPairsWithOnePairPerClass(seed: UInt64) throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 3, seed: seed)
        let margin = 3.0
        func distance(_ a: Int, _ b: Int) -> Double {
            (0..<3).reduce(0.0) { $0 + (x[a, $1] - x[b, $1]) * (x[a, $1] - x[b, $1]) }.squareRoot()
        }
        var positive = 0.0, negative = 0.0
        for a in 0..<4 {
            positive += distance(2 * a, 2 * a + 1) * distance(2 * a, 2 * a + 1) / 4
            for b in (a + 1)..<4 {
                let closest = [2 * a, 2 * a + 1].flatMap { p in [2 * b, 2 * b + 1].map { distance(p, $0) } }.min()!
                negative += max(margin - closest, 0) * max(margin - closest, 0) / 6  // 6 unordered class pairs
            }
        }
        let out = try ContrastiveLoss(margin: margin).hardNegativeLoss(x, labels: labels, synthesis: NoSynthesis())
        #expect(negative > 0)
        #expect(abs(out.value - (positive + negative)) < 1e-12)
    }

    @Test func syntheticFractionIsNilWithoutSynthesisAndAShareWithIt() throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 4, seed: 5, normalized: true)
        for (_, loss) in Self.losses(normalized: true) {
            #expect(try loss.hardNegativeLoss(x, labels: labels, synthesis: NoSynthesis()).syntheticFraction == nil)
            for synthesis: any EmbeddingSynthesis in [EmbeddingExpansion(), SymmetricalSynthesis()] {
                let fraction = try #require(try loss.hardNegativeLoss(x, labels: labels, synthesis: synthesis).syntheticFraction)
                #expect(fraction >= 0 && fraction <= 1)
            }
        }
    }

    @Test func badBatchesAreRejected() {
        let x = Matrix<Double>([[0], [1], [2]])
        for (_, loss) in Self.losses(normalized: true) {
            #expect(throws: MetricLearningError.noPositivePair) { try loss.hardNegativeLoss(x, labels: [0, 1, 2], synthesis: NoSynthesis()) }
            #expect(throws: MetricLearningError.noNegativePair) { try loss.hardNegativeLoss(x, labels: [5, 5, 5], synthesis: EmbeddingExpansion()) }
        }
    }
}
