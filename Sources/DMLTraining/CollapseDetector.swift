import Foundation
import DMLNumerics
import DMLRunDirectory
import MetricLearning

/// When a run counts as collapsed, and what to do about it (`collapse` in `config.json`).
public struct CollapseSettings: Codable, Sendable, Equatable {
    /// Whether collapse is watched for at all.
    public var enabled = true
    /// A window whose relative spread is below `spreadFraction ×` the initial spread counts as
    /// collapsed.
    public var spreadFraction = 0.1
    /// A window whose mean loss is within `lossTolerance × |collapse value|` of the collapse
    /// value, while its spread is below half the initial spread, counts as collapsed.
    public var lossTolerance = 0.01
    /// The collapsed windows must span at least this many iterations before a collapse is
    /// reported.
    public var patience = 100
    /// Stop the run (with an error) when a collapse is detected (`--stop-on-collapse`).
    public var stop = false

    /// The defaults.
    public init() {}
}

/// The training was stopped because the embeddings collapsed (`--stop-on-collapse`).
public struct CollapseError: Error, Equatable, CustomStringConvertible {
    /// What was detected.
    public var record: CollapseRecord

    public var description: String {
        "training stopped at iteration \(record.iteration): " + CollapseDetector.explanation(record)
    }
}

/// Watches the batch embeddings for a collapse: every item mapped to (nearly) the same point,
/// which hard negative mining from scratch is known to produce (the loss then sits at the
/// value it takes on a batch of identical points, e.g. the margin for the triplet loss).
///
/// Per iteration `t` the *relative spread* of the batch embeddings `x_1..x_B` is
/// `r_t = mean_i ‖x_i − x̄‖ / sqrt(mean_i ‖x_i‖²)` (in [0, 1], independent of scale; about 1
/// for well spread unit vectors, 0 for a collapsed batch). `r_0` is the spread of the first
/// batch, seen by the untrained network. Over each logging window (`logEvery` iterations) with
/// mean spread `r̄` and mean loss `L̄`, and `L_c` the loss of the last batch with every row
/// replaced by the batch mean (the loss's collapse value), the window is *collapsed* when
/// `r̄ < spreadFraction · r_0`, or when `|L̄ − L_c| ≤ lossTolerance · |L_c|` and `r̄ < r_0 / 2`.
/// A collapse is reported once, when consecutive collapsed windows span `patience` iterations;
/// `began` is the first iteration of the first of them.
public struct CollapseDetector: Codable, Sendable, Equatable {
    /// `r_0`, once the first batch has been seen.
    public private(set) var initialSpread: Double?
    /// The first iteration of the current stretch of collapsed windows.
    public private(set) var stretchStart: Int?
    /// The collapse reported, if any.
    public private(set) var detected: CollapseRecord?

    /// A detector that has seen nothing.
    public init() {}

    /// `mean_i ‖x_i − x̄‖ / sqrt(mean_i ‖x_i‖²)` of the rows of `x` (0 when every row is 0).
    public static func relativeSpread(_ x: Matrix<Float>) -> Double {
        let n = x.rows, d = x.columns
        guard n > 0, d > 0 else { return 0 }
        let mean = meanRow(x)
        return x.withUnsafeBufferPointer { p in
            var distances = 0.0, squares = 0.0
            for i in 0..<n {
                var s = 0.0, q = 0.0
                for j in 0..<d {
                    let v = Double(p[i * d + j])
                    s += (v - mean[j]) * (v - mean[j])
                    q += v * v
                }
                distances += s.squareRoot()
                squares += q
            }
            return squares > 0 ? (distances / Double(n)) / (squares / Double(n)).squareRoot() : 0
        }
    }

    /// The mean of the rows of `x`.
    static func meanRow(_ x: Matrix<Float>) -> [Double] {
        let n = x.rows, d = x.columns
        var mean = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { p in
            for i in 0..<n { for j in 0..<d { mean[j] += Double(p[i * d + j]) } }
        }
        return mean.map { $0 / Double(max(n, 1)) }
    }

    /// `L_c`: the loss of a batch whose rows all equal the mean row of `x`, with `labels`.
    public static func collapseLoss(_ loss: LossConfiguration, embeddings x: Matrix<Float>, labels: [Int]) -> Double {
        let mean = meanRow(x)
        var collapsed = Matrix<Float>(rows: x.rows, columns: x.columns)
        for i in 0..<x.rows { for j in 0..<x.columns { collapsed[i, j] = Float(mean[j]) } }
        return (try? loss.evaluate(collapsed, labels: labels)).map { Double($0.value) } ?? .nan
    }

    /// Records the spread of the first batch the run sees (later calls do nothing).
    public mutating func noteInitialSpread(_ spread: Double) {
        if initialSpread == nil { initialSpread = spread }
    }

    /// Feeds the logging window `firstIteration...lastIteration`; returns a record when this
    /// window completes a collapse (once per run).
    public mutating func observeWindow(firstIteration: Int, lastIteration: Int, meanSpread: Double, meanLoss: Double,
                                       collapseLoss: Double, settings: CollapseSettings) -> CollapseRecord? {
        guard settings.enabled, let r0 = initialSpread, r0 > 0 else { return nil }
        let lowSpread = meanSpread < settings.spreadFraction * r0
        let pinned = collapseLoss.isFinite && abs(meanLoss - collapseLoss) <= settings.lossTolerance * abs(collapseLoss)
            && meanSpread < 0.5 * r0
        guard lowSpread || pinned else {
            stretchStart = nil
            return nil
        }
        let start = stretchStart ?? firstIteration
        stretchStart = start
        guard detected == nil, lastIteration - start + 1 >= settings.patience else { return nil }
        let record = CollapseRecord(iteration: lastIteration, began: start, criterion: lowSpread ? "spread" : "loss",
                                    spread: meanSpread, initialSpread: r0, loss: meanLoss, collapseLoss: collapseLoss)
        detected = record
        return record
    }

    /// A sentence for users: what was seen and what to try.
    public static func explanation(_ r: CollapseRecord) -> String {
        let spread = String(format: "%.4f", r.spread), initial = String(format: "%.4f", r.initialSpread)
        let loss = String(format: "%.4f", r.loss), value = String(format: "%.4f", r.collapseLoss)
        let pinned = abs(r.loss - r.collapseLoss) <= 0.02 * abs(r.collapseLoss)
        return "the embeddings collapsed (since iteration \(r.began)): the batch spread is \(spread) against \(initial) at the start, "
            + (pinned ? "the loss \(loss) sits at its collapse value \(value); " : "the loss is \(loss) (\(value) on a collapsed batch); ")
            + "hard negative mining from scratch often does this: lower the learning rate, use plain mining or a pretrained backbone"
    }
}
