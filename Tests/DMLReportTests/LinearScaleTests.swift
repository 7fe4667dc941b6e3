import Testing
@testable import DMLReport

@Suite struct LinearScaleTests {
    @Test func niceSteps() {
        #expect(LinearScale.niceStep(0.13) == 0.2)
        #expect(LinearScale.niceStep(0.25) == 0.5)
        #expect(LinearScale.niceStep(7) == 10)
        #expect(LinearScale.niceStep(1) == 1)
        #expect(abs(LinearScale.niceStep(230) - 500) < 1e-9)
    }

    @Test func ticksCoverTheDataAndMapToTheRange() {
        let s = LinearScale(covering: 0.13, 0.87, range: (300, 50))
        #expect(s.domain.lowerBound <= 0.13 && s.domain.upperBound >= 0.87)
        #expect(s.ticks.first == s.domain.lowerBound)
        #expect(abs(s.ticks.last! - s.domain.upperBound) < 1e-12)
        #expect(s.ticks.count >= 3 && s.ticks.count <= 8)
        #expect(abs(s(s.domain.lowerBound) - 300) < 1e-9)
        #expect(abs(s(s.domain.upperBound) - 50) < 1e-9)
        #expect(s.label(0.2) == "0.2")
    }

    @Test func degenerateIntervalsAreWidened() {
        let s = LinearScale(covering: 5, 5, range: (0, 100))
        #expect(s.domain.lowerBound < 5 && s.domain.upperBound > 5)
        let z = LinearScale(covering: 0, 0, range: (0, 100))
        #expect(z.domain.lowerBound < 0 && z.domain.upperBound > 0)
    }

    @Test func largeValuesUseThousands() {
        let s = LinearScale(covering: 0, 20_000, range: (0, 100))
        #expect(s.label(10_000) == "10k")
        #expect(s.label(0) == "0")
    }
}
