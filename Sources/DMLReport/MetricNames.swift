import DMLEvaluation

/// The metric keys of `metrics.json` / `eval` records and their display names.
public enum MetricNames {
    /// The keys a report plots over evaluations and a summary tabulates, in display order:
    /// `recall@1`, `nmi`, `f1`, `map@r`.
    public static let plotted = ["recall@1", "nmi", "f1", "map@r"]

    /// The display name of a key: `recall@4` → `Recall@4`, `nmi` → `NMI`, `f1` → `F1`,
    /// `map@r` → `MAP@R`, `r_precision` → `R-Precision`; other keys unchanged.
    public static func display(_ key: String) -> String {
        if let k = recallK(key) { return "Recall@\(k)" }
        switch key {
        case "nmi": return "NMI"
        case "f1": return "F1"
        case "map@r": return "MAP@R"
        case "r_precision": return "R-Precision"
        default: return key
        }
    }

    /// K of a `recall@K` key, nil for other keys (`MetricKey.recallK`).
    public static func recallK(_ key: String) -> Int? { MetricKey.recallK(key) }

    /// The fraction-valued metrics other than Recall@K, in display order.
    static let fractionKeys = ["nmi", "f1", "map@r", "r_precision"]

    /// Whether `key` names a metric whose value is a fraction in [0, 1] (Recall@K, NMI, F1,
    /// MAP@R, R-precision), shown in percent.
    public static func isFraction(_ key: String) -> Bool {
        recallK(key) != nil || fractionKeys.contains(key)
    }

    /// The order metrics appear in tables: Recall@K by increasing K, then NMI, F1, MAP@R,
    /// R-Precision, then any other key alphabetically.
    public static func sorted(_ keys: some Sequence<String>) -> [String] {
        let fixed = fractionKeys
        func rank(_ key: String) -> (Int, Int, String) {
            if let k = recallK(key) { return (0, k, key) }
            if let i = fixed.firstIndex(of: key) { return (1, i, key) }
            return (2, 0, key)
        }
        return Set(keys).sorted { rank($0) < rank($1) }
    }
}
