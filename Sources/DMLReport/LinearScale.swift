import Foundation

/// An affine map from data values to pixels, `pixel(v) = r₀ + (v − d₀)·(r₁ − r₀)/(d₁ − d₀)`,
/// with "nice" tick values (1, 2 or 5 × 10ᵏ apart) covering the domain.
public struct LinearScale: Sendable, Equatable {
    /// The data interval, already widened to whole ticks.
    public let domain: ClosedRange<Double>
    /// The pixel coordinates of `domain.lowerBound` and `domain.upperBound` (may decrease, as on a y axis).
    public let range: (Double, Double)
    /// The tick values, from the lower to the upper end of the domain.
    public let ticks: [Double]
    /// The distance between ticks.
    public let step: Double

    /// A scale covering `[low, high]` with about `tickCount` ticks. The domain is widened to the
    /// enclosing multiples of the tick step (Heckbert's "nice numbers"); an empty or degenerate
    /// interval is widened around its value.
    public init(covering low: Double, _ high: Double, range: (Double, Double), tickCount: Int = 5) {
        var lo = low.isFinite ? low : 0
        var hi = high.isFinite ? high : 1
        if lo > hi { swap(&lo, &hi) }
        if hi - lo < 1e-12 * max(1, abs(lo)) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
        }
        let step = LinearScale.niceStep((hi - lo) / Double(max(tickCount - 1, 1)))
        let first = (lo / step).rounded(.down)
        let last = (hi / step).rounded(.up)
        self.domain = (first * step)...(last * step)
        self.range = range
        self.step = step
        self.ticks = stride(from: first, through: last + 0.5, by: 1).map { $0 * step }
    }

    /// The pixel coordinate of data value `v`.
    public func callAsFunction(_ v: Double) -> Double {
        let span = domain.upperBound - domain.lowerBound
        return range.0 + (v - domain.lowerBound) / span * (range.1 - range.0)
    }

    /// The smallest 1, 2, 5 or 10 × 10ᵏ at least `rough`.
    public static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let fraction = rough / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// A tick label with as many decimals as the step needs (`0.25` → 2, `20` → 0);
    /// values of 10 000 and more with a `k` suffix when the step allows (`20000` → `20k`).
    public func label(_ value: Double) -> String {
        if abs(step) >= 1000, value != 0, (value / 1000).rounded() == value / 1000 {
            return String(Int((value / 1000).rounded())) + "k"
        }
        let decimals = max(0, Int((-log10(step)).rounded(.up)))
        let text = String(format: "%.\(decimals)f", value)
        return text == "-0" ? "0" : text
    }

    /// Equal domains, ranges and ticks.
    public static func == (lhs: LinearScale, rhs: LinearScale) -> Bool {
        lhs.domain == rhs.domain && lhs.range == rhs.range && lhs.ticks == rhs.ticks
    }
}
