/// Student's t distribution with `degreesOfFreedom` ν > 0.
public struct StudentT: Sendable, Equatable {
    /// ν.
    public let degreesOfFreedom: Double

    /// The distribution with ν degrees of freedom.
    public init(degreesOfFreedom: Double) {
        self.degreesOfFreedom = degreesOfFreedom
    }

    /// `P(T ≤ t)`: with `x = ν / (ν + t²)`, `P(T ≤ t) = 1 − ½ I_x(ν/2, ½)` for `t ≥ 0` and
    /// `½ I_x(ν/2, ½)` for `t < 0` (I the regularized incomplete beta function).
    public func cdf(_ t: Double) -> Double {
        guard !t.isNaN, degreesOfFreedom > 0 else { return .nan }
        if t == .infinity { return 1 }
        if t == -.infinity { return 0 }
        let tail = 0.5 * IncompleteBeta.regularized(x: degreesOfFreedom / (degreesOfFreedom + t * t),
                                                    a: degreesOfFreedom / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The two-sided p-value `P(|T| ≥ |t|) = I_{ν/(ν+t²)}(ν/2, ½)`, computed directly (not as
    /// `2(1 − cdf)`) so small p-values keep their precision.
    public func twoSidedPValue(_ t: Double) -> Double {
        guard !t.isNaN, degreesOfFreedom > 0 else { return .nan }
        if t.isInfinite { return 0 }
        return IncompleteBeta.regularized(x: degreesOfFreedom / (degreesOfFreedom + t * t), a: degreesOfFreedom / 2, b: 0.5)
    }
}
