/// A paired comparison of two conditions measured on the same units (here: two modes trained
/// with the same seeds): the paired t test on the differences `dᵢ = bᵢ − aᵢ`.
///
/// `d̄ = Σ dᵢ / n`, `s_d = sqrt(Σ (dᵢ − d̄)² / (n − 1))`, `t = d̄ / (s_d / √n)` with `df = n − 1`,
/// and the two-sided p-value `P(|T_df| ≥ |t|)`. With n < 2 the t statistic and p are NaN;
/// with `s_d = 0` they are `±∞` and 0 when `d̄ ≠ 0`, NaN when `d̄ = 0`.
public struct PairedComparison: Sendable, Equatable {
    /// The number of pairs n.
    public let count: Int
    /// The mean paired difference d̄.
    public let meanDifference: Double
    /// The standard deviation of the differences s_d (n − 1 in the denominator).
    public let standardDeviation: Double
    /// The t statistic `d̄ / (s_d / √n)`.
    public let t: Double
    /// The degrees of freedom `n − 1`.
    public let degreesOfFreedom: Int
    /// The two-sided p-value.
    public let pValue: Double

    /// The comparison of `treatment` against `baseline`, paired by position.
    public init(baseline: [Double], treatment: [Double]) {
        precondition(baseline.count == treatment.count, "paired samples must have equal lengths")
        self.init(differences: zip(treatment, baseline).map { $0 - $1 })
    }

    /// The comparison from the paired differences `dᵢ = treatmentᵢ − baselineᵢ`.
    public init(differences: [Double]) {
        let statistics = SampleStatistics(differences)
        count = differences.count
        meanDifference = statistics.mean
        standardDeviation = statistics.standardDeviation
        degreesOfFreedom = max(count - 1, 0)
        if count < 2 {
            t = .nan
            pValue = .nan
        } else if standardDeviation == 0 {
            t = meanDifference == 0 ? .nan : (meanDifference > 0 ? .infinity : -.infinity)
            pValue = meanDifference == 0 ? .nan : 0
        } else {
            t = meanDifference / (standardDeviation / Double(count).squareRoot())
            pValue = StudentT(degreesOfFreedom: Double(degreesOfFreedom)).twoSidedPValue(t)
        }
    }
}
