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

    /// A horizontal reference line across the whole x range (dashed), e.g. a baseline value.
    public struct Reference: Sendable {
        /// The legend name.
        public var name: String
        /// The y value.
        public var y: Double
        /// An explicit colour; nil takes the palette colour of the reference's position.
        public var colour: String?

        /// A reference line at `y`.
        public init(name: String, y: Double, colour: String? = nil) {
            self.name = name
            self.y = y
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
    /// Dashed horizontal lines (`<line class="reference">`), included in the y range and the legend.
    public var references: [Reference] = []
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
        let referenceValues = references.map(\.y).filter(\.isFinite)
        var yLow = (all.map(\.y) + referenceValues).min() ?? 0
        var yHigh = (all.map(\.y) + referenceValues).max() ?? 1
        if let yInclude {
            yLow = min(yLow, yInclude.lowerBound)
            yHigh = max(yHigh, yInclude.upperBound)
        }
        var frame = ChartFrame(width: size.width, height: size.height)
        let colours = series.indices.map { series[$0].colour ?? ReportStyle.colour($0) }
        let referenceColours = references.indices.map { references[$0].colour ?? ReportStyle.colour(series.count + $0) }
        let entries = zip(series.map(\.name), colours).map { (name: $0, colour: $1) }
            + zip(references.map(\.name), referenceColours).map { (name: $0, colour: $1) }
        let legend = entries.count > 1 ? entries : []
        if !legend.isEmpty { frame.reserveLegend(legend) }
        let x = LinearScale(covering: all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1, range: frame.xRange, tickCount: 6)
        let y = LinearScale(covering: yLow, yHigh, range: frame.yRange, tickCount: 5)
        let c = ChartFrame.coordinate
        var content: [Markup] = []
        for (reference, colour) in zip(references, referenceColours) where reference.y.isFinite {
            content.append(.el("line", [("class", "reference"), ("x1", c(frame.xRange.0)), ("x2", c(frame.xRange.1)),
                                        ("y1", c(y(reference.y))), ("y2", c(y(reference.y))), ("stroke", colour),
                                        ("stroke-width", "1.5"), ("stroke-dasharray", "6 4")]))
        }
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
