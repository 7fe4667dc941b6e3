import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// Every combination of the triplet options.
struct TripletVariant: CustomTestStringConvertible, Sendable {
    let selection: TripletSelection
    let squared: Bool
    let reduction: TripletReduction

    var testDescription: String { "\(selection) \(squared ? "D²" : "D") \(reduction)" }

    static let all: [TripletVariant] = TripletSelection.allCases.flatMap { s in
        [false, true].flatMap { sq in TripletReduction.allCases.map { TripletVariant(selection: s, squared: sq, reduction: $0) } }
    }
}

@Suite struct TripletLossTests {
    /// 1-D points 0, 0.5 (class 0) and 0.6, 2.0 (class 1); m = 0.2. Distances:
    /// D01 = .5, D02 = .6, D03 = 2, D12 = .1, D13 = 1.5, D23 = 1.4.
    /// All 8 triplets (a, p, n): (0,1,2) .1, (0,1,3) 0, (1,0,2) .6, (1,0,3) 0, (2,3,0) 1.0,
    /// (2,3,1) 1.5, (3,2,0) 0, (3,2,1) .1 → sum 3.3, mean 3.3/8 = .4125, non-zero mean 3.3/5 = .66.
    /// Semi-hard (D_ap < D_an < D_ap + .2): (0,1,2) .1 and (3,2,1) .1 → mean .1.
    /// Batch-hard: (0,1,2) .1, (1,0,2) .6, (2,3,1) 1.5, (3,2,1) .1 → mean 2.3/4 = .575.
    /// Squared, all: D² = .25, .36, 4, .01, 2.25, 1.96 → (0,1,2) .09, (1,0,2) .44, (2,3,0) 1.8,
    /// (2,3,1) 2.15, the rest 0 → mean 4.48/8 = .56.
    @Test func handComputedValues() throws {
        let x = Matrix<Double>([[0], [0.5], [0.6], [2.0]])
        let y = [0, 0, 1, 1]
        func value(_ loss: TripletLoss) throws -> Double { try loss.loss(x, labels: y).value }
        #expect(abs(try value(TripletLoss()) - 0.4125) < 1e-12)
        #expect(abs(try value(TripletLoss(reduction: .nonzero)) - 0.66) < 1e-12)
        #expect(abs(try value(TripletLoss(selection: .semihard)) - 0.1) < 1e-12)
        #expect(abs(try value(TripletLoss(selection: .hardest)) - 0.575) < 1e-12)
        #expect(abs(try value(TripletLoss(squared: true)) - 0.56) < 1e-12)
    }

    @Test(arguments: TripletVariant.all, TestBatch.standard)
    func gradientMatchesFiniteDifferences(variant: TripletVariant, batch: TestBatch) throws {
        let (x, labels) = batch.data
        // Raw embeddings are ~2–3 apart: a wider margin keeps triplets active.
        let margin = batch.normalized ? (variant.squared ? 1.5 : 0.5) : (variant.squared ? 6 : 2)
        let loss = TripletLoss(margin: margin, squared: variant.squared,
                               selection: variant.selection, reduction: variant.reduction)
        let out = try loss.loss(x, labels: labels)
        #expect(out.value > 0)
        let errors = GradientCheck.errors(of: { try! loss.loss($0, labels: labels).value }, analytic: out.gradient, at: x)
        #expect(errors.stability < 1e-6)
        #expect(errors.gradient < 1e-6)
    }

    @Test(arguments: TripletSelection.allCases)
    func permutingTheBatchPermutesTheGradient(selection: TripletSelection) throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 3, dimension: 5, seed: 4)
        let perm = BatchFactory.permutation(9, seed: 8)
        let loss = TripletLoss(margin: 2, selection: selection)
        let a = try loss.loss(x, labels: labels)
        let b = try loss.loss(x.gatheringRows(perm), labels: perm.map { labels[$0] })
        #expect(a.value > 0)
        #expect(abs(a.value - b.value) < 1e-12)
        #expect(b.gradient.maxAbsDifference(a.gradient.gatheringRows(perm)) < 1e-12)
    }

    @Test func noActiveTripletGivesZero() throws {
        // Classes far apart: every triplet is inactive, every reduction gives 0 and a zero gradient.
        let x = Matrix<Double>([[0], [0.1], [10], [10.1]])
        for reduction in TripletReduction.allCases {
            let out = try TripletLoss(reduction: reduction).loss(x, labels: [0, 0, 1, 1])
            #expect(out.value == 0)
            #expect(out.gradient.elements.allSatisfy { $0 == 0 })
        }
    }

    @Test func badBatchesAreRejected() {
        let x = Matrix<Double>([[0], [1], [2]])
        #expect(throws: MetricLearningError.noPositivePair) { try TripletLoss().loss(x, labels: [0, 1, 2]) }
        #expect(throws: MetricLearningError.noNegativePair) { try TripletLoss().loss(x, labels: [5, 5, 5]) }
        #expect(throws: MetricLearningError.nonFinite(row: 1, column: 0)) {
            try TripletLoss().loss(Matrix<Double>([[0], [.infinity], [2]]), labels: [0, 0, 1])
        }
    }
}
