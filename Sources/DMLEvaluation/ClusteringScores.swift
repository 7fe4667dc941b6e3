import RealModule

/// How well a clustering `Ω` (cluster ids) matches the ground-truth classes `C`, as reported by
/// the DML papers (Song et al. 2016) after k-means on the embeddings.
public struct ClusteringScores: Sendable, Equatable, Codable {
    /// Normalized mutual information `NMI = 2 I(Ω; C) / (H(Ω) + H(C))` with natural logarithms,
    /// where `I(Ω; C) = Σ_k Σ_c (n_kc/N) ln(N n_kc / (n_k n_c))`, `H(Ω) = −Σ_k (n_k/N) ln(n_k/N)`
    /// and `H(C) = −Σ_c (n_c/N) ln(n_c/N)` (the arithmetic normalization, equal to scikit-learn's
    /// `normalized_mutual_info_score`). When `H(Ω) + H(C) = 0` (one cluster and one class) the
    /// partitions agree and NMI is taken as 1.
    public var nmi: Double
    /// Pair-counting F1: over unordered item pairs, `TP = Σ_k Σ_c C(n_kc, 2)`,
    /// `TP + FP = Σ_k C(n_k, 2)`, `FN = Σ_c C(n_c, 2) − TP`, precision `P = TP/(TP+FP)`,
    /// recall `R = TP/(TP+FN)`, `F1 = 2PR/(P+R)`. A ratio with a zero denominator is taken as 0,
    /// and `F1 = 0` when `P + R = 0`.
    public var f1: Double
    /// Pair-counting precision `P`.
    public var precision: Double
    /// Pair-counting recall `R`.
    public var recall: Double

    /// The scores of `clusters` against `classes` (one entry per item, any integer ids).
    public static func compute(clusters: [Int], classes: [Int]) throws -> ClusteringScores {
        guard !classes.isEmpty else { throw EvaluationError.empty(name: "class labels") }
        try InputValidation.checkLabels(clusters, rows: classes.count, name: "cluster assignments")
        let table = ContingencyTable(clusters: clusters, classes: classes)
        let n = Double(table.total)
        func entropy(_ sizes: [Int]) -> Double {
            sizes.reduce(0.0) { h, size in
                let p = Double(size) / n
                return h - p * .log(p)
            }
        }
        // I(Ω; C) = Σ p_kc ln p_kc − Σ p_k ln p_k − Σ p_c ln p_c = H(Ω) + H(C) − H(Ω, C).
        let hClusters = entropy(table.clusterSizes), hClasses = entropy(table.classSizes)
        let mutualInformation = Swift.max(0, hClusters + hClasses - entropy(table.cells))
        let nmi = hClusters + hClasses > 0 ? 2 * mutualInformation / (hClusters + hClasses) : 1

        func pairs(_ sizes: [Int]) -> Double { sizes.reduce(0.0) { $0 + Double($1) * Double($1 - 1) / 2 } }
        let truePositives = pairs(table.cells)
        let predictedPositives = pairs(table.clusterSizes)
        let actualPositives = pairs(table.classSizes)
        let precision = predictedPositives > 0 ? truePositives / predictedPositives : 0
        let recall = actualPositives > 0 ? truePositives / actualPositives : 0
        let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        return ClusteringScores(nmi: nmi, f1: f1, precision: precision, recall: recall)
    }
}
