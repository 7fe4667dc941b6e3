import Foundation
import Testing
@testable import DMLReport

@Suite struct StatisticsTests {
    @Test func meanAndSampleStandardDeviationByHand() {
        // x = 0.61, 0.63, 0.58: mean 1.82/3; deviations 0.00333…, 0.02333…, −0.02666…;
        // Σ squares = 0.0012666…; / (n − 1) = 0.00063333…; sqrt = 0.0251661…
        let s = SampleStatistics([0.61, 0.63, 0.58])
        #expect(s.count == 3)
        #expect(abs(s.mean - 1.82 / 3) < 1e-15)
        #expect(abs(s.standardDeviation - (0.0019 / 3).squareRoot()) < 1e-12)
        #expect(abs(s.standardDeviation - 0.025166114784235857) < 1e-12)
        #expect(SampleStatistics([2]).standardDeviation.isNaN)
        #expect(SampleStatistics([]).mean.isNaN)
    }

    @Test func incompleteBetaClosedForms() {
        for x in stride(from: 0.05, through: 0.95, by: 0.15) {
            #expect(abs(IncompleteBeta.regularized(x: x, a: 1, b: 1) - x) < 1e-13)
            #expect(abs(IncompleteBeta.regularized(x: x, a: 3, b: 1) - pow(x, 3)) < 1e-13)
            #expect(abs(IncompleteBeta.regularized(x: x, a: 1, b: 2.5) - (1 - pow(1 - x, 2.5))) < 1e-13)
            // I_x(a, b) = 1 − I_{1−x}(b, a)
            let lhs = IncompleteBeta.regularized(x: x, a: 2.3, b: 0.7)
            #expect(abs(lhs - (1 - IncompleteBeta.regularized(x: 1 - x, a: 0.7, b: 2.3))) < 1e-13)
            // I_x(½, ½) = (2/π) asin(√x)
            #expect(abs(IncompleteBeta.regularized(x: x, a: 0.5, b: 0.5) - 2 / Double.pi * asin(x.squareRoot())) < 1e-13)
        }
        #expect(IncompleteBeta.regularized(x: 0, a: 2, b: 3) == 0)
        #expect(IncompleteBeta.regularized(x: 1, a: 2, b: 3) == 1)
        #expect(IncompleteBeta.regularized(x: 0.5, a: -1, b: 3).isNaN)
    }

    @Test func incompleteBetaMatchesSciPy() {
        // scipy.special.betainc(a, b, x)
        #expect(abs(IncompleteBeta.regularized(x: 0.4, a: 2.5, b: 3.5) - 0.4869041915261176) < 1e-12)
        #expect(abs(IncompleteBeta.regularized(x: 0.01, a: 0.5, b: 10) - 0.3420718248432154) < 1e-12)
        #expect(abs(IncompleteBeta.regularized(x: 0.45, a: 30, b: 40) - 0.6447480085585666) < 1e-11)
    }

    @Test func studentTClosedForms() {
        for t in [-7.5, -2.0, -0.3, 0.0, 0.4, 1.0, 3.3, 12.0] {
            // ν = 1 is the Cauchy distribution: F(t) = ½ + atan(t)/π.
            #expect(abs(StudentT(degreesOfFreedom: 1).cdf(t) - (0.5 + atan(t) / Double.pi)) < 1e-13)
            // ν = 2: F(t) = ½ + t / (2 √(2 + t²)).
            #expect(abs(StudentT(degreesOfFreedom: 2).cdf(t) - (0.5 + t / (2 * (2 + t * t).squareRoot()))) < 1e-13)
            // ν = 3: F(t) = ½ + (1/π) [ (t/√3) / (1 + t²/3) + atan(t/√3) ].
            let u = t / 3.0.squareRoot()
            #expect(abs(StudentT(degreesOfFreedom: 3).cdf(t) - (0.5 + (u / (1 + u * u) + atan(u)) / Double.pi)) < 1e-13)
        }
    }

    @Test func studentTKnownValues() {
        // Table critical values: t_{0.975, 10} = 2.228138851986, t_{0.975, 1} = 12.7062047361747.
        #expect(abs(StudentT(degreesOfFreedom: 10).twoSidedPValue(2.228138851986) - 0.05) < 1e-11)
        #expect(abs(StudentT(degreesOfFreedom: 1).twoSidedPValue(12.7062047361747) - 0.05) < 1e-11)
        // scipy.stats.t: 2·sf(5, 7), cdf(−1.5, 4.5), 2·sf(40, 2).
        #expect(abs(StudentT(degreesOfFreedom: 7).twoSidedPValue(5) - 0.0015652779531728249) < 1e-13)
        #expect(abs(StudentT(degreesOfFreedom: 4.5).cdf(-1.5) - 0.10010954282807676) < 1e-12)
        #expect(abs(StudentT(degreesOfFreedom: 2).twoSidedPValue(-40) - 0.0006244146721847406) < 1e-14)
        #expect(StudentT(degreesOfFreedom: 5).twoSidedPValue(0) == 1)
        #expect(StudentT(degreesOfFreedom: 5).cdf(.infinity) == 1)
    }

    @Test func pairedTByHand() {
        // d = (2−1, 4−2, 5−3, 4−4) = (1, 2, 2, 0): d̄ = 1.25, s_d = √(2.75/3), t = 1.25 / (s_d/2), df = 3.
        let c = PairedComparison(baseline: [1, 2, 3, 4], treatment: [2, 4, 5, 4])
        #expect(c.count == 4 && c.degreesOfFreedom == 3)
        #expect(abs(c.meanDifference - 1.25) < 1e-15)
        #expect(abs(c.standardDeviation - (2.75 / 3).squareRoot()) < 1e-15)
        #expect(abs(c.t - 2.6111648393354674) < 1e-12)
        // scipy.stats.ttest_rel([2, 4, 5, 4], [1, 2, 3, 4]).pvalue; also the ν = 3 closed form.
        #expect(abs(c.pValue - 0.0796049808179063) < 1e-12)
        let u = c.t / 3.0.squareRoot()
        #expect(abs(c.pValue - 2 * (0.5 - (u / (1 + u * u) + atan(u)) / Double.pi)) < 1e-12)
    }

    @Test func pairedTDegenerateCases() {
        let one = PairedComparison(differences: [0.1])
        #expect(one.t.isNaN && one.pValue.isNaN && one.meanDifference == 0.1)
        let constant = PairedComparison(differences: [0.5, 0.5, 0.5])
        #expect(constant.t == .infinity && constant.pValue == 0)
        let none = PairedComparison(differences: [0, 0])
        #expect(none.t.isNaN && none.pValue.isNaN)
        let negative = PairedComparison(differences: [-1, -3])
        #expect(negative.t < 0 && negative.pValue > 0 && negative.pValue < 1)
    }
}
