import DMLRunDirectory
import Foundation

/// The summary of an experiment grid (losses × modes × seeds): per (loss, mode) the mean ±
/// standard deviation over seeds of each metric, and the gain of each mode over `plain`
/// with a paired t test across the seeds both modes ran with. Renders as Markdown, CSV and an
/// HTML page with bar charts and error bars.
public struct ExperimentSummary: Sendable {
    /// The statistics of one (loss, mode) cell.
    public struct Cell: Sendable, Equatable {
        /// The loss.
        public let loss: String
        /// The mode.
        public let mode: String
        /// The seeds of the cell's runs, increasing.
        public let seeds: [Int]
        /// Mean and standard deviation over seeds per metric key (runs lacking a metric are left out of it).
        public let statistics: [String: SampleStatistics]
    }

    /// The gain of one mode over the baseline for one loss and one metric.
    public struct Gain: Sendable, Equatable {
        /// The loss.
        public let loss: String
        /// The mode compared with `RunIdentity.baselineMode`.
        public let mode: String
        /// The metric key.
        public let metric: String
        /// The seeds both modes ran with (and that have the metric), increasing.
        public let seeds: [Int]
        /// The paired comparison, differences `mode − plain` per seed.
        public let comparison: PairedComparison
    }

    /// The runs, as given.
    public let runs: [RunResult]
    /// The losses, in order of first appearance in `runs`.
    public let losses: [String]
    /// The modes: those of `RunIdentity.standardModes` present, in that order (`plain`, `hnpm`,
    /// `hnpm+ee`, `hnpm+symm`), then any others in order of first appearance.
    public let modes: [String]
    /// The metric keys tabulated: every `recall@K` present (increasing K), then `nmi`, `f1`, `map@r` when present.
    public let metricKeys: [String]
    /// One cell per (loss, mode) that has runs, in loss then mode order.
    public let cells: [Cell]
    /// One gain per (loss, non-baseline mode, metric) with a baseline, in loss, mode, metric order.
    public let gains: [Gain]
    /// Mean and standard deviation per metric key of the raw-test-input metrics over the runs
    /// that have them (one value per run; identical across runs on the same test split); nil
    /// when no run has a baseline.
    public let rawInputStatistics: [String: SampleStatistics]?
    /// The number of runs with a raw-input baseline.
    public let rawInputRunCount: Int

    /// The row label of the raw-input baseline in the tables.
    public static let rawInputLabel = "raw inputs"
    /// The mode column of the raw-input row.
    public static let rawInputMode = "baseline"

    /// Summarizes `runs`. Two runs with the same (loss, mode, seed) are an error naming both directories.
    public init(runs: [RunResult]) throws {
        var seen = [RunIdentity: String]()
        for run in runs {
            if let other = seen[run.identity] {
                throw ReportError(source: run.directory, reason: "same loss, mode and seed (\(run.identity.loss), \(run.identity.mode), \(run.identity.seed)) as \(other)")
            }
            seen[run.identity] = run.directory
        }
        self.runs = runs
        var losses = [String]()
        var modes = [String]()
        for run in runs {
            if !losses.contains(run.identity.loss) { losses.append(run.identity.loss) }
            if !modes.contains(run.identity.mode) { modes.append(run.identity.mode) }
        }
        modes = RunIdentity.standardModes.filter(modes.contains) + modes.filter { !RunIdentity.standardModes.contains($0) }
        self.losses = losses
        self.modes = modes
        let allKeys = Set(runs.flatMap { $0.metrics.keys })
        metricKeys = MetricNames.sorted(allKeys.filter { MetricNames.recallK($0) != nil || ["nmi", "f1", "map@r"].contains($0) })

        var byCell = [String: [String: [RunResult]]]()
        for run in runs { byCell[run.identity.loss, default: [:]][run.identity.mode, default: []].append(run) }
        var cells = [Cell]()
        var gains = [Gain]()
        for loss in losses {
            for mode in modes {
                guard let group = byCell[loss]?[mode] else { continue }
                var statistics = [String: SampleStatistics]()
                for key in metricKeys { statistics[key] = SampleStatistics(group.compactMap { $0.metrics[key] }) }
                cells.append(Cell(loss: loss, mode: mode, seeds: group.map(\.identity.seed).sorted(), statistics: statistics))
                guard mode != RunIdentity.baselineMode, let baseline = byCell[loss]?[RunIdentity.baselineMode] else { continue }
                let baselineBySeed = Dictionary(uniqueKeysWithValues: baseline.map { ($0.identity.seed, $0.metrics) })
                for key in metricKeys {
                    let pairs = group.compactMap { run -> (seed: Int, difference: Double)? in
                        guard let value = run.metrics[key], let base = baselineBySeed[run.identity.seed]?[key] else { return nil }
                        return (run.identity.seed, value - base)
                    }.sorted { $0.seed < $1.seed }
                    gains.append(Gain(loss: loss, mode: mode, metric: key, seeds: pairs.map(\.seed),
                                      comparison: PairedComparison(differences: pairs.map(\.difference))))
                }
            }
        }
        self.cells = cells
        self.gains = gains
        let baselines = runs.compactMap(\.baseline)
        rawInputRunCount = baselines.count
        rawInputStatistics = baselines.isEmpty ? nil
            : Dictionary(uniqueKeysWithValues: metricKeys.map { key in (key, SampleStatistics(baselines.compactMap { $0[key] })) })
    }

    // MARK: Tables

    /// Mean ± standard deviation per cell, in percent (two decimals): `61.25 ± 0.40`.
    /// The last row, `raw inputs | baseline`, holds the metrics of the raw test inputs when the
    /// runs recorded them; its `seeds` column counts the runs that did.
    public var statisticsTable: HTMLTable {
        func text(_ s: SampleStatistics) -> String {
            guard s.count > 0 else { return "—" }
            return s.count < 2 ? NumberFormat.percent(s.mean) : "\(NumberFormat.percent(s.mean)) ± \(NumberFormat.percent(s.standardDeviation))"
        }
        var rows = cells.map { cell in
            [cell.loss, cell.mode, "\(cell.seeds.count)"] + metricKeys.map { text(cell.statistics[$0]!) }
        }
        if let raw = rawInputStatistics {
            rows.append([Self.rawInputLabel, Self.rawInputMode, "\(rawInputRunCount)"] + metricKeys.map { text(raw[$0]!) })
        }
        return HTMLTable(header: ["loss", "mode", "seeds"] + metricKeys.map(MetricNames.display), rows: rows,
                         numericColumns: Set(2..<(3 + metricKeys.count)))
    }

    /// The gains for one metric: per (loss, mode) the paired mean difference and its standard
    /// deviation in percentage points, t, df and the two-sided p-value.
    public func gainTable(metric: String) -> HTMLTable {
        let rows = gains.filter { $0.metric == metric }.map { g in
            [g.loss, g.mode, "\(g.comparison.count)", signedPoints(g.comparison.meanDifference),
             NumberFormat.percent(g.comparison.standardDeviation), NumberFormat.fixed(g.comparison.t, decimals: 2),
             g.comparison.count < 2 ? "—" : "\(g.comparison.degreesOfFreedom)", NumberFormat.pValue(g.comparison.pValue)]
        }
        return HTMLTable(header: ["loss", "mode", "pairs", "mean gain (pp)", "sd (pp)", "t", "df", "p (two-sided)"],
                         rows: rows, numericColumns: [2, 3, 4, 5, 6, 7])
    }

    private func signedPoints(_ d: Double) -> String { NumberFormat.signedPoints(d) }

    private var overview: String {
        let seeds = Set(runs.map(\.identity.seed)).sorted().map(String.init).joined(separator: ", ")
        return "\(runs.count) runs: \(losses.count) losses × \(modes.count) modes, seeds \(seeds). "
            + "Metrics in percent on the held-out classes; ± is the sample standard deviation over seeds (n − 1). "
            + "Gains are paired by seed: mean and standard deviation of (mode − \(RunIdentity.baselineMode)) in percentage points, "
            + "paired t = mean / (sd / √n) with df = n − 1 and a two-sided p-value."
            + (rawInputStatistics == nil ? " No run recorded raw-input baseline metrics."
               : " The row \"\(Self.rawInputLabel)\" scores the raw test inputs (pixels or features) the same way: the reference every embedding must beat.")
    }

    // MARK: Renderings

    /// Said instead of empty gain tables when no run shares a seed with a baseline run.
    var noGainsNote: String {
        "No gains: no mode has a run with the same loss and seed in mode \(RunIdentity.baselineMode) to pair with."
    }

    /// The summary as Markdown: the statistics table, then one gain table per metric.
    public var markdown: String {
        var out = "# Experiment summary\n\n\(overview)\n\n## Mean ± standard deviation over seeds (%)\n\n"
        out += statisticsTable.markdown
        out += "\n## Gain over \(RunIdentity.baselineMode) (paired by seed)\n"
        guard !gains.isEmpty else { return out + "\n" + noGainsNote + "\n" }
        for key in metricKeys {
            out += "\n### \(MetricNames.display(key))\n\n" + gainTable(metric: key).markdown
        }
        return out
    }

    /// One row per (loss, mode): `loss,mode,runs,seeds` then `<metric>_mean,<metric>_std` per
    /// metric, as fractions in full precision (empty when undefined). Seeds are separated by `;`.
    /// When the runs recorded it, a last row `raw inputs,baseline,<runs>,` holds the raw test inputs' metrics.
    public var csv: String {
        let header = ["loss", "mode", "runs", "seeds"] + metricKeys.flatMap { ["\($0)_mean", "\($0)_std"] }
        var rows = cells.map { cell in
            [cell.loss, cell.mode, "\(cell.seeds.count)", cell.seeds.map(String.init).joined(separator: ";")]
                + metricKeys.flatMap { key in
                    [CSVTable.number(cell.statistics[key]!.mean), CSVTable.number(cell.statistics[key]!.standardDeviation)]
                }
        }
        if let raw = rawInputStatistics {
            rows.append([Self.rawInputLabel, Self.rawInputMode, "\(rawInputRunCount)", ""]
                        + metricKeys.flatMap { [CSVTable.number(raw[$0]!.mean), CSVTable.number(raw[$0]!.standardDeviation)] })
        }
        return CSVTable(header: header, rows: rows).text
    }

    /// One row per gain: `loss,mode,baseline,metric,pairs,mean_difference,sd_difference,t,df,p_value`
    /// (differences as fractions; empty when undefined).
    public var gainsCSV: String {
        let header = ["loss", "mode", "baseline", "metric", "pairs", "mean_difference", "sd_difference", "t", "df", "p_value"]
        let rows = gains.map { g in
            [g.loss, g.mode, RunIdentity.baselineMode, g.metric, "\(g.comparison.count)",
             CSVTable.number(g.comparison.meanDifference), CSVTable.number(g.comparison.standardDeviation),
             g.comparison.t.isNaN ? "" : "\(g.comparison.t)", g.comparison.count < 2 ? "" : "\(g.comparison.degreesOfFreedom)",
             CSVTable.number(g.comparison.pValue)]
        }
        return CSVTable(header: header, rows: rows).text
    }

    /// The bar chart of one metric: losses along x, one bar per mode, height = mean over seeds,
    /// error bar = ± standard deviation, in percent.
    public func barChart(metric: String) -> BarChart {
        let bars = losses.map { loss in
            modes.map { mode -> BarChart.Bar? in
                guard let s = cells.first(where: { $0.loss == loss && $0.mode == mode })?.statistics[metric], s.count > 0 else { return nil }
                return BarChart.Bar(value: 100 * s.mean, error: s.standardDeviation.isFinite ? 100 * s.standardDeviation : nil)
            }
        }
        var chart = BarChart(title: MetricNames.display(metric), xTitle: "loss", yTitle: "\(MetricNames.display(metric)) (%)",
                             categories: losses, series: modes, bars: bars)
        chart.size = (max(420, 90 + Double(losses.count * (modes.count * 18 + 30))), 320)
        return chart
    }

    /// The HTML page: overview, one bar chart per metric, the statistics table and the gain tables.
    public var html: String {
        var body: [Markup] = [.el("h1", text: "Experiment summary"), .el("p", [("class", "note")], text: overview)]
        body.append(.el("section", [("id", "charts")], [
            .el("h2", text: "Mean over seeds, error bars ± one standard deviation"),
            .el("div", [("class", "charts")], metricKeys.map { barChart(metric: $0).svg }),
        ]))
        body.append(.el("section", [("id", "statistics")], [
            .el("h2", text: "Mean ± standard deviation over seeds (%)"), statisticsTable.markup,
        ]))
        var gainNodes: [Markup] = [.el("h2", text: "Gain over \(RunIdentity.baselineMode) (paired by seed)")]
        if gains.isEmpty { gainNodes.append(.el("p", text: noGainsNote)) }
        for key in gains.isEmpty ? [] : metricKeys {
            gainNodes.append(.el("h3", text: MetricNames.display(key)))
            gainNodes.append(gainTable(metric: key).markup)
        }
        body.append(.el("section", [("id", "gains")], gainNodes))
        return HTMLDocument(title: "Experiment summary", body: body).rendered
    }
}
