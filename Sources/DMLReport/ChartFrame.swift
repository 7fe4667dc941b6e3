import Foundation

/// The frame shared by every chart: an SVG canvas with a title, a plot area, x and y axes
/// with ticks, grid lines, tick labels and axis titles.
public struct ChartFrame: Sendable {
    /// Canvas width in pixels.
    public var width: Double
    /// Canvas height in pixels.
    public var height: Double
    /// Space left of the plot area (y tick labels and title).
    public var left: Double = 62
    /// Space right of the plot area.
    public var right: Double = 16
    /// Space above the plot area (title and legend).
    public var top: Double = 46
    /// Space below the plot area (x tick labels and title).
    public var bottom: Double = 44

    /// A frame of the given size.
    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// The plot area's x pixel interval.
    public var xRange: (Double, Double) { (left, width - right) }
    /// The plot area's y pixel interval, bottom to top.
    public var yRange: (Double, Double) { (height - bottom, top) }

    /// Coordinates with two decimals: enough for a screen, compact in the file.
    public static func coordinate(_ v: Double) -> String { String(format: "%.2f", v) }

    /// The `<svg>` element holding `content` drawn over the axes of `x` and `y`. When
    /// `xCategories` is given, the x axis shows those labels at their centres instead of ticks.
    public func svg(title: String, xTitle: String, yTitle: String, x: LinearScale?, y: LinearScale,
                    xCategories: [(label: String, centre: Double)] = [], legend: [(name: String, colour: String)] = [],
                    content: [Markup]) -> Markup {
        let c = ChartFrame.coordinate
        var nodes: [Markup] = [.el("title", text: title)]
        nodes.append(.el("rect", [("x", "0"), ("y", "0"), ("width", c(width)), ("height", c(height)), ("fill", "#ffffff")]))
        nodes.append(.el("text", [("x", c(left)), ("y", "18"), ("font-size", "14"), ("font-weight", "bold")], text: title))
        // Grid lines and y ticks.
        var axis: [Markup] = []
        for tick in y.ticks {
            let py = c(y(tick))
            axis.append(.el("line", [("class", "grid"), ("x1", c(left)), ("x2", c(width - right)), ("y1", py), ("y2", py),
                                     ("stroke", "#e5e5e5"), ("stroke-width", "1")]))
            axis.append(.el("line", [("x1", c(left - 5)), ("x2", c(left)), ("y1", py), ("y2", py), ("stroke", "#333")]))
            axis.append(.el("text", [("class", "tick"), ("x", c(left - 8)), ("y", c(y(tick) + 4)), ("text-anchor", "end")],
                            text: y.label(tick)))
        }
        let baseline = c(height - bottom)
        if let x {
            for tick in x.ticks {
                let px = c(x(tick))
                axis.append(.el("line", [("x1", px), ("x2", px), ("y1", baseline), ("y2", c(height - bottom + 5)), ("stroke", "#333")]))
                axis.append(.el("text", [("class", "tick"), ("x", px), ("y", c(height - bottom + 18)), ("text-anchor", "middle")],
                                text: x.label(tick)))
            }
        }
        for category in xCategories {
            axis.append(.el("text", [("class", "tick"), ("x", c(category.centre)), ("y", c(height - bottom + 18)),
                                     ("text-anchor", "middle")], text: category.label))
        }
        axis.append(.el("line", [("class", "axis"), ("x1", c(left)), ("x2", c(width - right)), ("y1", baseline), ("y2", baseline),
                                 ("stroke", "#333"), ("stroke-width", "1")]))
        axis.append(.el("line", [("class", "axis"), ("x1", c(left)), ("x2", c(left)), ("y1", c(top)), ("y2", baseline),
                                 ("stroke", "#333"), ("stroke-width", "1")]))
        axis.append(.el("text", [("class", "axis-title"), ("x", c((left + width - right) / 2)), ("y", c(height - 8)),
                                 ("text-anchor", "middle")], text: xTitle))
        let midY = c((top + height - bottom) / 2)
        axis.append(.el("text", [("class", "axis-title"), ("x", "14"), ("y", midY), ("text-anchor", "middle"),
                                 ("transform", "rotate(-90 14 \(midY))")], text: yTitle))
        nodes.append(.el("g", [("class", "axes")], axis))
        nodes.append(.el("g", [("class", "plot")], content))
        if !legend.isEmpty { nodes.append(legendNodes(legend)) }
        return .el("svg", [("xmlns", "http://www.w3.org/2000/svg"), ("class", "chart"), ("width", c(width)),
                           ("height", c(height)), ("viewBox", "0 0 \(c(width)) \(c(height))"), ("role", "img")], nodes)
    }

    /// The legend entries laid out in rows under the title, wrapping at the canvas width:
    /// `(x, row)` per entry.
    private func legendLayout(_ entries: [(name: String, colour: String)]) -> [(x: Double, row: Int)] {
        var x = left
        var row = 0
        var out = [(x: Double, row: Int)]()
        for entry in entries {
            let w = 28 + 7 * Double(entry.name.count)
            if x > left, x + w > width - right {
                x = left
                row += 1
            }
            out.append((x, row))
            x += w
        }
        return out
    }

    /// Makes room above the plot area for the legend rows of `entries`.
    public mutating func reserveLegend(_ entries: [(name: String, colour: String)]) {
        let rows = (legendLayout(entries).last?.row ?? -1) + 1
        top = 30 + 18 * Double(max(rows, 1))
    }

    /// The legend under the title: a colour key and a name per entry, wrapping into rows.
    private func legendNodes(_ entries: [(name: String, colour: String)]) -> Markup {
        let c = ChartFrame.coordinate
        var nodes: [Markup] = []
        for (entry, place) in zip(entries, legendLayout(entries)) {
            let y = 27 + 18 * Double(place.row)
            nodes.append(.el("rect", [("x", c(place.x)), ("y", c(y)), ("width", "12"), ("height", "12"), ("fill", entry.colour)]))
            nodes.append(.el("text", [("x", c(place.x + 16)), ("y", c(y + 10))], text: entry.name))
        }
        return .el("g", [("class", "legend")], nodes)
    }
}
