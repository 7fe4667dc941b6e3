/// A scatter plot of points coloured by group, with a legend of the groups.
public struct ScatterChart: Sendable {
    /// One coloured group of points.
    public struct Group: Sendable {
        /// The legend name.
        public var name: String
        /// The points.
        public var points: [(x: Double, y: Double)]

        /// A group of points.
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// The chart title.
    public var title: String
    /// The x axis title.
    public var xTitle: String
    /// The y axis title.
    public var yTitle: String
    /// The groups, coloured in palette order.
    public var groups: [Group]
    /// The canvas size in pixels.
    public var size: (width: Double, height: Double) = (620, 520)

    /// A scatter plot of `groups`.
    public init(title: String, xTitle: String, yTitle: String, groups: [Group]) {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.groups = groups
    }

    /// The chart as an `<svg>` element; each point is a `<circle>`.
    public var svg: Markup {
        let all = groups.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var frame = ChartFrame(width: size.width, height: size.height)
        let legend = groups.indices.map { (name: groups[$0].name, colour: ReportStyle.colour($0)) }
        frame.reserveLegend(legend)
        let x = LinearScale(covering: all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1, range: frame.xRange, tickCount: 8)
        let y = LinearScale(covering: all.map(\.y).min() ?? 0, all.map(\.y).max() ?? 1, range: frame.yRange, tickCount: 8)
        let c = ChartFrame.coordinate
        var content: [Markup] = []
        for (index, group) in groups.enumerated() {
            let colour = ReportStyle.colour(index)
            let circles: [Markup] = group.points.filter { $0.x.isFinite && $0.y.isFinite }.map { p in
                .el("circle", [("cx", c(x(p.x))), ("cy", c(y(p.y))), ("r", "3.5")])
            }
            content.append(.el("g", [("fill", colour), ("fill-opacity", "0.75"), ("stroke", "#ffffff"), ("stroke-width", "0.5")], circles))
        }
        return frame.svg(title: title, xTitle: xTitle, yTitle: yTitle, x: x, y: y, legend: legend, content: content)
    }
}
