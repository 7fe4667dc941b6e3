/// The look shared by every page: one style sheet and one categorical colour palette.
public enum ReportStyle {
    /// Ten distinguishable colours (the Tableau 10 palette), used in order for series and classes.
    public static let palette = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    ]

    /// The outline colour of a retrieved neighbour with the query's label.
    public static let correctColour = "#1a9850"
    /// The outline colour of a retrieved neighbour with another label.
    public static let wrongColour = "#d73027"

    /// The colour of series or class number `index` (wrapping around the palette).
    public static func colour(_ index: Int) -> String {
        palette[((index % palette.count) + palette.count) % palette.count]
    }

    /// The page style sheet. It holds no `<`, `>` or `&`, so it is the same text in HTML and XML.
    public static let styleSheet = """
    body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
    h1 { font-size: 26px; margin-bottom: 4px; }
    h2 { font-size: 20px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
    h3 { font-size: 16px; margin: 16px 0 4px 0; }
    p.note { color: #666; font-size: 13px; }
    p.warning { color: #7a1f00; background: #fff1e6; border: 1px solid #d73027; padding: 8px 12px; font-size: 14px; }
    table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
    th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
    th { background: #f4f4f4; }
    td.number { text-align: right; font-variant-numeric: tabular-nums; }
    .charts { display: flex; flex-wrap: wrap; gap: 16px; }
    svg.chart { background: #fff; font-size: 12px; }
    svg.chart text { font-family: inherit; fill: #333; }
    .retrieval { display: grid; gap: 6px 8px; align-items: start; }
    .tile { width: 64px; height: 64px; border: 3px solid #ccc; display: flex; align-items: center; justify-content: center; background: #f7f7f7; box-sizing: content-box; }
    .tile img { width: 64px; height: 64px; image-rendering: pixelated; }
    .tile.query { border-color: #333; }
    .tile.correct { border-color: #1a9850; }
    .tile.wrong { border-color: #d73027; }
    .tile span { font-size: 12px; text-align: center; word-break: break-all; }
    .caption { font-size: 11px; color: #555; text-align: center; width: 84px; }
    .cell { display: flex; flex-direction: column; align-items: center; }
    .legend-key { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
    """
}
