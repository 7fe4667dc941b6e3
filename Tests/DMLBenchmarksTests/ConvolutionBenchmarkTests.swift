import Foundation
import Testing
import DMLNetworks
import DMLBenchmarks

/// The convolution benchmark runs and both paths agree. Timings are printed only with
/// `DML_LAYER_BENCH=1` (run in release: `DML_LAYER_BENCH=1 swift test -c release --filter ConvolutionBenchmarkTests`).
@Suite struct ConvolutionBenchmarkTests {
    @Test func bothPathsAgreeOnASmallCase() {
        let result = ConvolutionBenchmark.run(channels: 4, outputs: 4, kernel: 3, stride: 2, padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1),
                                              groups: 4, size: 6, batch: 2, rounds: 1)
        #expect(result.maxDifference < 1e-5)
        #expect(result.specializedSeconds > 0 && result.im2colSeconds > 0)
    }

    @Test func alternatingCallsEachSideOnceToWarmUpThenOncePerRoundInTurn() {
        var calls: [Character] = []
        let times = BenchmarkClock.wall.alternating(rounds: 3, { calls.append("a") }, { calls.append("b") })
        #expect(String(calls) == "abababab")
        #expect(times.a >= 0 && times.b >= 0 && times.a.isFinite && times.b.isFinite)
    }

    struct Stop: Error, Equatable {}

    /// The throwing form (`dml bench losses` times a loss that throws): an error from either side
    /// ends the timing at once and reaches the caller.
    @Test func alternatingRethrowsTheFirstErrorAndStopsThere() {
        var calls: [Character] = []
        #expect(throws: Stop.self) {
            _ = try BenchmarkClock.wall.alternating(rounds: 5, { calls.append("a") }, {
                calls.append("b")
                if calls.count == 6 { throw Stop() }
            })
        }
        #expect(String(calls) == "ababab")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DML_LAYER_BENCH"] == "1"))
    func efficientNetAndResNetShapes() {
        let configurations: [(Int, Int, Int, Int, Padding2D, Int, Int)] = [
            // EfficientNet-Lite0 depthwise layers at 224 px (channels, outputs, k, s, padding, groups, size)
            (32, 32, 3, 1, 1, 32, 112),
            (96, 96, 3, 2, Padding2D(top: 0, bottom: 1, left: 0, right: 1), 96, 112),
            (144, 144, 5, 2, Padding2D(top: 1, bottom: 2, left: 1, right: 2), 144, 56),
            (480, 480, 5, 1, 2, 480, 14),
            (1152, 1152, 3, 1, 1, 1152, 7),
            // pointwise expand / project
            (16, 96, 1, 1, 0, 1, 112),
            (144, 24, 1, 1, 0, 1, 56),
            (80, 480, 1, 1, 0, 1, 14),
            (320, 1280, 1, 1, 0, 1, 7),
        ]
        for (c, o, k, s, p, g, size) in configurations {
            let result = ConvolutionBenchmark.run(channels: c, outputs: o, kernel: k, stride: s, padding: p, groups: g, size: size, batch: 8)
            print(result)
            #expect(result.maxDifference < 1e-3)
        }
    }
}
