/// A line chart: one polyline per series over shared x and y axes, with a legend when there
/// is more than one series. Points with a non-finite coordinate are left out.
public struct LineChart: Sendable {
    /// One line of the chart.
    public struct Series: Sendable {
        /// The legend name.
        public var name: String
        /// The `(x, y)` points in drawing order.
        public var points: [(x: Double, y: Double)]
        /// An explicit colour; nil takes the palette colour of the series' position.
        public var colour: String?

        /// A series of points.
        public init(name: String, points: [(x: Double, y: Double)], colour: String? = nil) {
            self.name = name
            self.points = points
            self.colour = colour
        }
    }

    /// The chart title.
    public var title: String
    /// The x axis title.
    public var xTitle: String
    /// The y axis title.
    public var yTitle: String
    /// The lines.
    public var series: [Series]
    /// A y interval the axis must include (for example `0...1` for metrics), widened to the data.
    public var yInclude: ClosedRange<Double>?
    /// The canvas size in pixels.
    public var size: (width: Double, height: Double) = (520, 300)

    /// A chart of `series`.
    public init(title: String, xTitle: String, yTitle: String, series: [Series], yInclude: ClosedRange<Double>? = nil) {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.series = series
        self.yInclude = yInclude
    }

    /// The chart as an `<svg>` element.
    public var svg: Markup {
        let finite = series.map { s in s.points.filter { $0.x.isFinite && $0.y.isFinite } }
        let all = finite.flatMap { $0 }
        var yLow = all.map(\.y).min() ?? 0
        var yHigh = all.map(\.y).max() ?? 1
        if let yInclude {
            yLow = min(yLow, yInclude.lowerBound)
            yHigh = max(yHigh, yInclude.upperBound)
        }
        var frame = ChartFrame(width: size.width, height: size.height)
        let colours = series.indices.map { series[$0].colour ?? ReportStyle.colour($0) }
        let legend = series.count > 1 ? zip(series, colours).map { (name: $0.name, colour: $1) } : []
        if !legend.isEmpty { frame.reserveLegend(legend) }
        let x = LinearScale(covering: all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1, range: frame.xRange, tickCount: 6)
        let y = LinearScale(covering: yLow, yHigh, range: frame.yRange, tickCount: 5)
        let c = ChartFrame.coordinate
        var content: [Markup] = []
        for (points, colour) in zip(finite, colours) where !points.isEmpty {
            let text = points.map { c(x($0.x)) + "," + c(y($0.y)) }.joined(separator: " ")
            content.append(.el("polyline", [("points", text), ("fill", "none"), ("stroke", colour), ("stroke-width", "2"),
                                            ("stroke-linejoin", "round")]))
            if points.count <= 40 {
                for p in points {
                    content.append(.el("circle", [("cx", c(x(p.x))), ("cy", c(y(p.y))), ("r", "3"), ("fill", colour)]))
                }
            }
        }
        return frame.svg(title: title, xTitle: xTitle, yTitle: yTitle, x: x, y: y, legend: legend, content: content)
    }
}
