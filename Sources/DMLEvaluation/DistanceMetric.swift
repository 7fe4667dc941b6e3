/// How two embeddings are compared when ranking neighbours.
public enum DistanceMetric: String, Sendable, Codable, CaseIterable {
    /// `d(q, r) = ‖q − r‖₂`, computed as `sqrt(max(0, ‖q‖² + ‖r‖² − 2 q·r))` from one GEMM.
    case euclidean
    /// `d(q, r) = 1 − q·r / (‖q‖ ‖r‖)`: rows are L2-normalized first, so ranking by it equals
    /// ranking by Euclidean distance between the normalized rows.
    case cosine
}
