import DMLNumerics

/// Gradients with respect to a distance `D_ij`, expressed with respect to `D²_ij` so that
/// `PairwiseDistances.backward(squared:)` takes them in one pass with no conversion matrix.
enum DistanceGradient {
    /// `∂D/∂D² = 1 / (2D)`, taken as 0 where `D = 0` (coinciding points: the subgradient at the
    /// minimum), as `PairwiseDistances.backward` does for distance gradients.
    @inline(__always)
    static func squaredPerDistance<T: BLASScalar>(_ distance: T) -> T {
        distance > 0 ? 1 / (2 * distance) : 0
    }
}
