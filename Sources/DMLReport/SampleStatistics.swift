/// The mean and the sample standard deviation of a list of values.
public struct SampleStatistics: Sendable, Equatable {
    /// The number of values n.
    public let count: Int
    /// `x̄ = Σ xᵢ / n` (NaN when n = 0).
    public let mean: Double
    /// `s = sqrt( Σ (xᵢ − x̄)² / (n − 1) )` (NaN when n < 2).
    public let standardDeviation: Double

    /// The statistics of `values`: the mean as `x₁ + Σ (xᵢ − x₁) / n` (exact for equal values),
    /// then the variance in a second pass, so it does not lose precision.
    public init(_ values: [Double]) {
        count = values.count
        // Shifted by the first value, so equal values give exactly that value and a zero deviation.
        if let first = values.first {
            mean = first + values.reduce(0) { $0 + ($1 - first) } / Double(values.count)
        } else {
            mean = .nan
        }
        if values.count < 2 {
            standardDeviation = .nan
        } else {
            let m = mean
            standardDeviation = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
        }
    }
}
