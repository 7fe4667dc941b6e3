import DMLNumerics
import DMLRunDirectory
import Foundation

/// The self-contained HTML report of one training run: training curves, evaluation curves, a
/// retrieval grid, a PCA projection of the test embeddings, the configuration and the final
/// metrics. Inline SVG and PNG data URIs only: no network, no JavaScript.
public struct RunReport: Sendable {
    /// What the report samples and how much it draws.
    public struct Options: Sendable {
        /// Queries in the retrieval grid [16].
        public var queryCount = 16
        /// Neighbours shown per query [8].
        public var neighbourCount = 8
        /// Seed of the query sample and of the PCA start vectors [0].
        public var seed: UInt64 = 0
        /// Classes drawn in the PCA projection (the first ones by label value) [8].
        public var projectedClasses = 8
        /// At most this many points per class in the projection (the first ones in file order) [150].
        public var pointsPerClass = 150

        /// The defaults.
        public init() {}
    }

    /// The run being reported.
    public let run: RunDirectory
    /// The options.
    public let options: Options

    /// A report of `run`.
    public init(run: RunDirectory, options: Options = Options()) {
        self.run = run
        self.options = options
    }

    /// Reads the run directory at `runDirectory`, writes the report atomically to `output`
    /// (default `RUN_DIR/report.html`) and returns the path written.
    @discardableResult
    public static func write(runDirectory: String, to output: String? = nil, options: Options = Options()) throws -> String {
        let report = RunReport(run: try RunDirectory(path: runDirectory), options: options)
        let path = output ?? report.run.file("report.html")
        try AtomicFile.write(try report.html(), to: path)
        return path
    }

    /// The name of the run: its directory name.
    public var runName: String { (run.path as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? run.path }

    /// The whole page.
    public func html() throws -> String {
        var body: [Markup] = [.el("h1", text: "Training run \(runName)")]
        let identity: [String]
        if let id = try? RunIdentity(config: run.config, source: run.path) {
            identity = ["loss \(id.loss)", "mode \(id.mode)", "seed \(id.seed)"]
        } else {
            identity = ["loss", "mode", "seed"].compactMap { key in run.config[key].map { "\(key) \($0.displayText)" } }
        }
        body.append(.el("p", [("class", "note")], text: (identity.isEmpty ? "" : identity.joined(separator: " · ") + " — ") + run.path))
        body += collapseWarnings()
        body += section("Final metrics", id: "metrics", metricsTable())
        body += section("Training", id: "training", trainingCharts())
        body += section("Evaluation", id: "evaluation", evaluationCharts())
        body += section("Retrieval", id: "retrieval", try retrievalGrid())
        body += section("Embedding projection", id: "projection", projection())
        body += section("Configuration", id: "configuration", configurationTable())
        return HTMLDocument(title: "Run \(runName)", body: body).rendered
    }

    private func section(_ title: String, id: String, _ content: [Markup]) -> [Markup] {
        [.el("section", [("id", id)], [.el("h2", text: title)] + content)]
    }

    /// A warning per `collapse` record of the log: the metrics of a collapsed run mean little.
    private func collapseWarnings() -> [Markup] {
        run.log.collapses.map { c in
            var text = "Warning: the embeddings collapsed from iteration \(c.began) (detected at iteration \(c.iteration))"
            if c.spread.isFinite && c.initialSpread.isFinite {
                text += ": the batch spread fell to \(NumberFormat.plain(c.spread)) from \(NumberFormat.plain(c.initialSpread)) at the start"
            }
            if c.loss.isFinite && c.collapseLoss.isFinite {
                text += "; the loss was \(NumberFormat.plain(c.loss)), its value on a collapsed batch \(NumberFormat.plain(c.collapseLoss))"
            }
            text += ". Every item maps to nearly the same point, so the retrieval and clustering figures below are not meaningful. Hard negative mining from scratch often does this; try a lower learning rate, plain mining or a pretrained backbone."
            return .el("p", [("class", "warning"), ("id", "collapse-warning")], text: text)
        }
    }

    private func note(_ text: String) -> Markup { .el("p", [("class", "note")], text: text) }

    /// The evaluation of the untrained network (the log's `eval` record at iteration 0).
    private var untrained: [String: Double]? {
        run.log.evaluations.first { $0.iteration == 0 }?.metrics
    }

    /// `label` as the report names it: the class name from `test_classes.json`, else `class <label>`.
    func className(_ label: Int) -> String {
        run.classNames?[label] ?? "class \(label)"
    }

    private func metricsTable() -> [Markup] {
        guard let metrics = run.metrics else {
            var out = [note("metrics.json does not exist yet: the run has not finished.")]
            if let baseline = run.baseline {
                out.append(note("Raw test inputs (baseline): " + MetricNames.sorted(baseline.keys).filter(MetricNames.isFraction)
                    .map { "\(MetricNames.display($0)) \(NumberFormat.percent(baseline[$0]!)) %" }.joined(separator: ", ") + "."))
            }
            return out
        }
        // Metrics are fractions shown in percent; other members (the iteration) as they are.
        // Beside the final value: the raw test inputs (the baseline) and the untrained network.
        let baseline = run.baseline ?? [:], untrained = self.untrained ?? [:]
        func cell(_ key: String, _ value: Double?) -> String {
            guard let value else { return "—" }
            return MetricNames.isFraction(key) ? NumberFormat.percent(value) + " %" : NumberFormat.plain(value)
        }
        func gain(_ key: String, over reference: [String: Double]) -> String {
            guard MetricNames.isFraction(key), let value = metrics[key], let base = reference[key] else { return "—" }
            return NumberFormat.signedPoints(value - base)
        }
        let rows = MetricNames.sorted(metrics.keys).map { key in
            [MetricNames.display(key), cell(key, baseline[key]), cell(key, untrained[key]), cell(key, metrics[key]),
             gain(key, over: baseline), gain(key, over: untrained)]
        }
        let table = HTMLTable(header: ["metric", "raw inputs (baseline)", "iteration 0 (untrained)", "final",
                                       "gain over raw inputs (points)", "gain over iteration 0 (points)"],
                              rows: rows, numericColumns: [1, 2, 3, 4, 5]).markup
        return [gainStatement(metrics: metrics), table]
    }

    /// One sentence stating the final Recall@1 and MAP@R against the raw inputs and iteration 0.
    private func gainStatement(metrics: [String: Double]) -> Markup {
        guard let baseline = run.baseline else {
            return note("No raw-input baseline in this run (metrics.json has no \"baseline\" object and the log no baseline record).")
        }
        let untrained = self.untrained
        let parts = ["recall@1", "map@r"].compactMap { key -> String? in
            guard let value = metrics[key], let base = baseline[key] else { return nil }
            var text = "\(MetricNames.display(key)) \(NumberFormat.percent(value)) %: "
                + "\(NumberFormat.signedPoints(value - base)) points over the raw inputs (\(NumberFormat.percent(base)) %)"
            if let start = untrained?[key] {
                text += ", \(NumberFormat.signedPoints(value - start)) over iteration 0 (\(NumberFormat.percent(start)) %)"
            }
            return text
        }
        return .el("p", [("class", "gain")], text: parts.joined(separator: "; ") + ".")
    }

    private func trainingCharts() -> [Markup] {
        let steps = run.log.steps
        guard !steps.isEmpty else { return [note("log.jsonl holds no training steps yet.")] }
        var charts = [LineChart(title: "Loss", xTitle: "iteration", yTitle: "loss",
                                series: [.init(name: "loss", points: steps.map { (Double($0.iteration), $0.loss) })]).svg]
        let fractions = steps.compactMap { s in s.syntheticFraction.map { (x: Double(s.iteration), y: $0) } }
        var notes: [Markup] = []
        if fractions.isEmpty {
            notes.append(note("No synthetic fraction: this mode synthesizes no points."))
        } else {
            charts.append(LineChart(title: "Synthetic fraction of hardest negative pairs", xTitle: "iteration",
                                    yTitle: "fraction", series: [.init(name: "synthetic fraction", points: fractions,
                                                                       colour: ReportStyle.colour(1))],
                                    yInclude: 0...1).svg)
        }
        return [.el("div", [("class", "charts")], charts)] + notes
    }

    private func evaluationCharts() -> [Markup] {
        let evaluations = run.log.evaluations
        guard !evaluations.isEmpty else { return [note("log.jsonl holds no evaluations yet.")] }
        let keys = MetricNames.plotted.filter { key in evaluations.contains { $0.metrics[key] != nil } }
        let series = keys.map { key in
            LineChart.Series(name: MetricNames.display(key), points: evaluations.compactMap { e in
                e.metrics[key].map { (x: Double(e.iteration), y: $0) }
            })
        }
        var chart = LineChart(title: "Held-out metrics", xTitle: "iteration", yTitle: "value", series: series, yInclude: 0...1)
        // The raw inputs' value of each plotted metric as a dashed line in the metric's colour.
        if let baseline = run.baseline {
            chart.references = keys.enumerated().compactMap { index, key in
                baseline[key].map { LineChart.Reference(name: "\(MetricNames.display(key)) raw inputs", y: $0, colour: ReportStyle.colour(index)) }
            }
        }
        chart.size = (720, 340)
        let text = run.baseline == nil ? "No raw-input baseline in this run."
            : "Dashed lines: the same metrics on the raw test inputs (the baseline every embedding must beat)."
        return [chart.svg, note(text)]
    }

    private func retrievalGrid() throws -> [Markup] {
        guard let embeddings = run.embeddings, let labels = run.labels else {
            return [note("embeddings/test_embeddings.npy does not exist yet.")]
        }
        let sample = RetrievalSample(embeddings: embeddings, labels: labels, queryCount: options.queryCount,
                                     neighbourCount: options.neighbourCount, seed: options.seed)
        var cells: [Markup] = []
        for query in sample.queries {
            cells.append(try tile(index: query.index, label: query.label, kind: "query", caption: ["query", className(query.label)]))
            for (rank, n) in query.neighbours.enumerated() {
                cells.append(try tile(index: n.index, label: n.label, kind: n.isCorrect ? "correct" : "wrong",
                                      caption: ["#\(rank + 1) · d \(String(format: "%.3f", n.distance))", className(n.label)]))
            }
        }
        let legend = Markup.el("p", [("class", "note")], [
            .text("\(sample.queries.count) queries sampled with seed \(options.seed); each row: the query, then its "
                  + "\(options.neighbourCount) nearest other test items by Euclidean distance. Outline:"),
            .el("span", [("class", "legend-key"), ("style", "background: \(ReportStyle.correctColour)")]),
            .text("same class"),
            .el("span", [("class", "legend-key"), ("style", "background: \(ReportStyle.wrongColour)")]),
            .text("other class"),
        ])
        let columns = 1 + (sample.queries.first?.neighbours.count ?? options.neighbourCount)
        return [legend, .el("div", [("class", "retrieval"), ("style", "grid-template-columns: repeat(\(columns), 84px)")], cells)]
    }

    /// A thumbnail (or a labelled box) with caption lines; the last line names the class.
    private func tile(index: Int, label: Int, kind: String, caption: [String]) throws -> Markup {
        let content: Markup
        let name = className(label)
        if let thumbnails = run.thumbnails {
            content = .el("img", [("src", try thumbnails.dataURI(index)), ("alt", "item \(index), \(name)")])
        } else {
            content = .el("span", text: name)
        }
        return .el("div", [("class", "cell")], [
            .el("div", [("class", "tile \(kind)"), ("title", "item \(index), \(name) (label \(label))")], [content]),
        ] + caption.enumerated().map { i, line in
            .el("div", [("class", i == caption.count - 1 ? "caption class-name" : "caption")], text: line)
        })
    }

    private func projection() -> [Markup] {
        guard let embeddings = run.embeddings, let labels = run.labels else {
            return [note("embeddings/test_embeddings.npy does not exist yet.")]
        }
        guard embeddings.rows >= 3, embeddings.columns >= 2 else {
            return [note("Too few test embeddings (\(embeddings.rows) × \(embeddings.columns)) for a projection.")]
        }
        let pca = PrincipalComponents(fitting: embeddings, count: 2, seed: options.seed)
        let classes = Array(Set(labels).sorted().prefix(options.projectedClasses))
        var rowsByClass = [Int: [Int]]()
        for (i, label) in labels.enumerated() where classes.contains(label) {
            if rowsByClass[label, default: []].count < options.pointsPerClass { rowsByClass[label, default: []].append(i) }
        }
        let groups = classes.map { label -> ScatterChart.Group in
            let projected = pca.project(embeddings.gatheringRows(rowsByClass[label] ?? []))
            return ScatterChart.Group(name: className(label), points: (0..<projected.rows).map { (projected[$0, 0], projected[$0, 1]) })
        }
        func share(_ i: Int) -> String {
            pca.totalVariance > 0 ? String(format: "%.1f", 100 * pca.variances[i] / pca.totalVariance) : "0"
        }
        let chart = ScatterChart(title: "Test embeddings on the top two principal components",
                                 xTitle: "PC1 (\(share(0)) % of variance)", yTitle: "PC2 (\(share(1)) % of variance)",
                                 groups: groups)
        let text = "Principal components of all \(embeddings.rows) test embeddings (covariance by GEMM, power iteration); "
            + "drawn: the first \(classes.count) classes by label, at most \(options.pointsPerClass) items each"
            + (run.classNames == nil ? " (the run has no embeddings/test_classes.json, so classes are shown by label)." : ".")
        return [note(text), chart.svg]
    }

    private func configurationTable() -> [Markup] {
        let rows = run.config.flattened().map { [$0.key, $0.value.displayText] }
        return [HTMLTable(header: ["key", "value"], rows: rows).markup]
    }
}
