/// A grouped bar chart with error bars: categories along the x axis, one bar per series in
/// each category, bar height = value, error bar = value ± error.
public struct BarChart: Sendable {
    /// One bar: its value and the half-length of its error bar (nil or 0 for none).
    public struct Bar: Sendable {
        /// The bar height.
        public var value: Double
        /// The error bar extends from `value − error` to `value + error`.
        public var error: Double?

        /// A bar.
        public init(value: Double, error: Double?) {
            self.value = value
            self.error = error
        }
    }

    /// The chart title.
    public var title: String
    /// The y axis title.
    public var yTitle: String
    /// The x axis title.
    public var xTitle: String
    /// The category names along the x axis.
    public var categories: [String]
    /// The series names (legend), one bar each per category.
    public var series: [String]
    /// `bars[category][series]`; nil leaves the slot empty.
    public var bars: [[Bar?]]
    /// The canvas size in pixels.
    public var size: (width: Double, height: Double) = (520, 320)

    /// A chart of `bars[category][series]`.
    public init(title: String, xTitle: String, yTitle: String, categories: [String], series: [String], bars: [[Bar?]]) {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.categories = categories
        self.series = series
        self.bars = bars
    }

    /// The chart as an `<svg>` element; each bar is a `<rect class="bar">`, each error bar a
    /// `<g class="error-bar">` of three lines. The y axis starts at 0 unless values are negative.
    public var svg: Markup {
        let present = bars.flatMap { $0.compactMap { $0 } }.filter { $0.value.isFinite }
        let highs = present.map { $0.value + max($0.error ?? 0, 0) }
        let lows = present.map { $0.value - max($0.error ?? 0, 0) }
        var frame = ChartFrame(width: size.width, height: size.height)
        let legend = series.indices.map { (name: series[$0], colour: ReportStyle.colour($0)) }
        frame.reserveLegend(legend)
        let y = LinearScale(covering: min(0, lows.min() ?? 0), max(0, highs.max() ?? 1), range: frame.yRange)
        let c = ChartFrame.coordinate
        let slot = (frame.xRange.1 - frame.xRange.0) / Double(max(categories.count, 1))
        let barWidth = slot * 0.8 / Double(max(series.count, 1))
        var content: [Markup] = []
        var centres: [(label: String, centre: Double)] = []
        for (ci, category) in categories.enumerated() {
            let start = frame.xRange.0 + slot * (Double(ci) + 0.1)
            centres.append((category, frame.xRange.0 + slot * (Double(ci) + 0.5)))
            for si in series.indices {
                guard ci < bars.count, si < bars[ci].count, let bar = bars[ci][si], bar.value.isFinite else { continue }
                let x0 = start + barWidth * Double(si)
                let top = min(y(bar.value), y(0))
                let height = abs(y(bar.value) - y(0))
                content.append(.el("rect", [("class", "bar"), ("x", c(x0 + 1)), ("y", c(top)), ("width", c(max(barWidth - 2, 1))),
                                            ("height", c(height)), ("fill", ReportStyle.colour(si))],
                                   [.el("title", text: "\(category), \(series[si]): \(y.label(bar.value))")]))
                if let e = bar.error, e > 0, e.isFinite {
                    let mid = x0 + barWidth / 2
                    let (hi, lo) = (c(y(bar.value + e)), c(y(bar.value - e)))
                    let cap = barWidth / 4
                    content.append(.el("g", [("class", "error-bar"), ("stroke", "#222"), ("stroke-width", "1.5")], [
                        .el("line", [("x1", c(mid)), ("x2", c(mid)), ("y1", hi), ("y2", lo)]),
                        .el("line", [("x1", c(mid - cap)), ("x2", c(mid + cap)), ("y1", hi), ("y2", hi)]),
                        .el("line", [("x1", c(mid - cap)), ("x2", c(mid + cap)), ("y1", lo), ("y2", lo)]),
                    ]))
                }
            }
        }
        return frame.svg(title: title, xTitle: xTitle, yTitle: yTitle, x: nil, y: y, xCategories: centres,
                         legend: legend, content: content)
    }
}
