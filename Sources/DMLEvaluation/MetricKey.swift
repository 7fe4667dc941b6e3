/// The names of the evaluation metrics, as the keys of `EvaluationResult`'s JSON, of the `eval`
/// records of `log.jsonl` and of `metrics.json`: `recall@K`, `map@r`, `r_precision`, `nmi`, `f1`.
/// The one place a `recall@K` key is made or parsed.
public enum MetricKey {
    /// The prefix of the Recall@K keys.
    public static let recallPrefix = "recall@"
    /// MAP@R.
    public static let mapAtR = "map@r"
    /// R-precision.
    public static let rPrecision = "r_precision"
    /// Normalized mutual information of the clustering.
    public static let nmi = "nmi"
    /// Pair-counting F1 of the clustering.
    public static let f1 = "f1"
    /// The metric keys other than Recall@K, in display order.
    public static let scalarKeys = [mapAtR, rPrecision, nmi, f1]

    /// The key of Recall@`k`: `recall@4`.
    public static func recall(_ k: Int) -> String { recallPrefix + String(k) }

    /// K of a `recall@K` key (a decimal integer after the prefix), nil for any other key.
    public static func recallK(_ key: some StringProtocol) -> Int? {
        guard key.hasPrefix(recallPrefix) else { return nil }
        return Int(key.dropFirst(recallPrefix.count))
    }

    /// Whether `key` names a metric (a Recall@K or one of `scalarKeys`) rather than a count,
    /// a timing or a setting.
    public static func isMetric(_ key: String) -> Bool {
        recallK(key) != nil || scalarKeys.contains(key)
    }
}
