import DMLNumerics

/// Symmetrical Synthesis (Gu & Ko, AAAI 2020): each embedding of a positive pair reflected about
/// the axis of the other.
///
/// For a pair `(x_k, x_l)` (`k = pair.first`): `u_l = x_l/‖x_l‖`, `r = (x_k·u_l) u_l`,
/// `x'_k = β(α(r − x_k) + x_k)`, and `x'_l` likewise with the roles swapped; the pair's two
/// points are `x'_k` then `x'_l`. At `α = 2, β = 1`, `x'_k` is the mirror image of `x_k` about
/// the line through `x_l` (same norm, same similarity to `x_l`). If `x_l = 0` the axis is
/// undefined and `r` is taken as 0.
///
/// **Class-mean axis** (`axis = .classMean`): every original `x_k` of a class with `K ≥ 2`
/// originals in the batch is reflected about the axis of the class mean
/// `μ = (1/K) Σ_j x_j`: `x'_k = β(1−α) x_k + αβ (x_k·μ/‖μ‖²) μ` — K points per class, one group
/// per class (its K originals and K points). With K = 2 and equal norms, the mirror image of
/// each sample about the mean axis is the other sample; with K > 2 the points spread the class
/// around its mean direction.
///
/// **Schedule** (`schedule = .linear`): at training progress `p = t/(T−1)` (iteration `t` of
/// `T`), `α(p) = α + (finalAlpha − α)·p` and `β(p) = β + (finalBeta − β)·p`
/// (`scheduled(progress:)`); `.constant` keeps `α`, `β`.
///
/// Backward, with `c = x_k·x_l`, `q = ‖x_l‖²` and `g` the gradient reaching `x'_k`
/// (`x'_k = β(1−α) x_k + αβ (c/q) x_l`):
/// `∂L/∂x_k += β(1−α) g + αβ (g·x_l / q) x_l`,
/// `∂L/∂x_l += αβ [ (c/q) g + (g·x_l / q) x_k − 2c (g·x_l) / q² · x_l ]`
/// (class-mean axis: that last gradient goes to `μ`, and every original of the class gets `1/K` of it).
public struct SymmetricalSynthesis: EmbeddingSynthesis, Codable, Equatable {
    /// `α`, the reflection strength (2: mirror image; 1: the projection `r`; 0: `x_k` itself).
    public var alpha: Double
    /// `β`, the scale of the synthetic point.
    public var beta: Double
    /// Which positive pairs generate points.
    public var pairing: PairingRule
    /// Whether the synthetic points pass no gradient back to the originals.
    public var detach: Bool
    /// Reflect about the partner of a pair (the paper) or about the class mean.
    public var axis: SynthesisAxis
    /// Constant `α`, `β`, or a linear ramp to `finalAlpha`, `finalBeta` over training.
    public var schedule: SymmetricalSchedule
    /// `α` at the end of training with the linear schedule.
    public var finalAlpha: Double
    /// `β` at the end of training with the linear schedule.
    public var finalBeta: Double

    /// Symm with the spec's defaults: `α = 2`, `β = 1`, adjacent pairs, gradients flowing, pair
    /// axis, constant schedule.
    public init(alpha: Double = 2, beta: Double = 1, pairing: PairingRule = .adjacent, detach: Bool = false,
                axis: SynthesisAxis = .pair, schedule: SymmetricalSchedule = .constant,
                finalAlpha: Double = 2, finalBeta: Double = 1) {
        self.alpha = alpha
        self.beta = beta
        self.pairing = pairing
        self.detach = detach
        self.axis = axis
        self.schedule = schedule
        self.finalAlpha = finalAlpha
        self.finalBeta = finalBeta
    }

    private enum CodingKeys: String, CodingKey { case alpha, beta, pairing, detach, axis, schedule, finalAlpha, finalBeta }

    /// Decodes every field; `axis`, `schedule`, `finalAlpha`, `finalBeta` (added later) default
    /// to `pair`, `constant`, 2 and 1.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alpha = try c.decode(Double.self, forKey: .alpha)
        beta = try c.decode(Double.self, forKey: .beta)
        pairing = try c.decode(PairingRule.self, forKey: .pairing)
        detach = try c.decode(Bool.self, forKey: .detach)
        axis = try c.decodeIfPresent(SynthesisAxis.self, forKey: .axis) ?? .pair
        schedule = try c.decodeIfPresent(SymmetricalSchedule.self, forKey: .schedule) ?? .constant
        finalAlpha = try c.decodeIfPresent(Double.self, forKey: .finalAlpha) ?? 2
        finalBeta = try c.decodeIfPresent(Double.self, forKey: .finalBeta) ?? 1
    }

    /// The synthesis at training progress `p ∈ [0, 1]`: with the linear schedule
    /// `α ← α + (finalAlpha − α)·p`, `β ← β + (finalBeta − β)·p` and the schedule set to constant;
    /// unchanged with the constant schedule.
    public func scheduled(progress p: Double) -> SymmetricalSynthesis {
        guard schedule == .linear else { return self }
        var out = self
        out.alpha = alpha + (finalAlpha - alpha) * p
        out.beta = beta + (finalBeta - beta) * p
        out.schedule = .constant
        return out
    }

    /// The originals followed by the synthetic points, group after group: `x'_first, x'_second`
    /// for every positive pair, or `x'_k` for every original of every class (class-mean axis).
    ///
    /// - Throws: `MetricLearningError` for a label count mismatch, a non-finite embedding, or a
    ///   non-finite `α` or `β`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func augment<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> AugmentedBatch<T> {
        try MetricLearningError.validate(embeddings, labels: labels)
        for (name, value) in [("alpha", alpha), ("beta", beta), ("finalAlpha", finalAlpha), ("finalBeta", finalBeta)] where !value.isFinite {
            throw MetricLearningError.invalidOption(name: "symmetrical.\(name)", value: "\(value)", expected: "a finite number")
        }
        let d = embeddings.columns, b = embeddings.rows
        let alpha = T(self.alpha), beta = T(self.beta)
        var plan = SyntheticPlan<T>()
        var groups = [SyntheticGroup]()
        switch axis {
        case .pair:
            for pair in PositivePairs.make(labels: labels, rule: pairing) {
                let start = b + plan.count
                plan.sources += [pair.first, pair.second]
                plan.axes += [pair.second, pair.first]
                groups.append(SyntheticGroup(pair: pair, synthetic: start..<(start + 2)))
            }
        case .classMean:
            plan.meanMembers = SyntheticPlan<T>.classGroups(labels: labels)
            plan.means = SyntheticPlan.classMeans(embeddings, classes: plan.meanMembers)
            for (m, members) in plan.meanMembers.enumerated() {
                let start = b + plan.count
                plan.sources += members
                plan.axes += repeatElement(-(m + 1), count: members.count)
                groups.append(SyntheticGroup(classOriginals: members, label: labels[members[0]],
                                             synthetic: start..<(start + members.count)))
            }
        }
        var augmented = AugmentedBatch.pointMatrix(originals: embeddings, syntheticRows: plan.count)
        augmented.withUnsafeMutableBufferPointer { pp in
            plan.means.withUnsafeBufferPointer { pm in
                let x = pp.baseAddress!, out = x + b * d
                for s in 0..<plan.count {
                    let v = x + plan.sources[s] * d
                    let w = plan.axis(s, points: x, means: pm.baseAddress, dimension: d)
                    let c = T.dot(n: d, x: v, incx: 1, y: w, incy: 1)
                    let q = T.dot(n: d, x: w, incx: 1, y: w, incy: 1)
                    Self.reflect(v, about: w, dot: c, axisSquaredNorm: q, alpha: alpha, beta: beta,
                                 dimension: d, into: out + s * d)
                }
            }
        }
        return AugmentedBatch(points: augmented, originalCount: b, labels: labels, groups: groups,
                              origin: .symmetrical(plan: plan, alpha: alpha, beta: beta), detach: detach)
    }

    /// `out = β(1−α) v + αβ (c/q) w`, the synthetic point of `v` about the axis of `w`.
    private static func reflect<T: BLASScalar>(
        _ v: UnsafePointer<T>, about w: UnsafePointer<T>, dot c: T, axisSquaredNorm q: T,
        alpha: T, beta: T, dimension d: Int, into out: UnsafeMutablePointer<T>
    ) {
        let own = beta * (1 - alpha)
        let axis: T = q > 0 ? alpha * beta * c / q : 0
        for i in 0..<d { out[i] = own * v[i] + axis * w[i] }
    }

    /// Adds the gradient of the synthetic rows (`syntheticGradient`, one row per synthetic point)
    /// to the originals' rows of `out` (see the type's documentation for the formulas).
    static func backward<T: BLASScalar>(
        plan: SyntheticPlan<T>, alpha: T, beta: T, points x: UnsafePointer<T>,
        originalCount: Int, dimension d: Int, syntheticGradient: UnsafePointer<T>, into out: UnsafeMutablePointer<T>
    ) {
        var meanGradient = [T](repeating: 0, count: plan.meanMembers.count * d)
        plan.means.withUnsafeBufferPointer { pm in
            meanGradient.withUnsafeMutableBufferPointer { pmg in
                let mg = pmg.baseAddress
                for s in 0..<plan.count {
                    let v = plan.sources[s], axis = plan.axes[s]
                    let xw = plan.axis(s, points: x, means: pm.baseAddress, dimension: d)
                    let ow = axis >= 0 ? out + axis * d : mg! + (-axis - 1) * d
                    reflectionBackward(syntheticGradient + s * d, of: x + v * d, about: xw, alpha: alpha, beta: beta,
                                       dimension: d, sourceGradient: out + v * d, axisGradient: ow)
                }
                if let mg { plan.distributeMeanGradient(mg, dimension: d, into: out) }
            }
        }
    }

    /// The gradient `g` of the point made from `x_v` about the axis `x_w`, added to
    /// `sourceGradient` (`∂L/∂x_v`) and `axisGradient` (`∂L/∂x_w`).
    private static func reflectionBackward<T: BLASScalar>(
        _ g: UnsafePointer<T>, of xv: UnsafePointer<T>, about xw: UnsafePointer<T>, alpha: T, beta: T,
        dimension d: Int, sourceGradient ov: UnsafeMutablePointer<T>, axisGradient ow: UnsafeMutablePointer<T>
    ) {
        let own = beta * (1 - alpha)
        let q = T.dot(n: d, x: xw, incx: 1, y: xw, incy: 1)
        guard q > 0 else {
            for i in 0..<d { ov[i] += own * g[i] }
            return
        }
        let c = T.dot(n: d, x: xv, incx: 1, y: xw, incy: 1)
        let ab = alpha * beta
        let gw = T.dot(n: d, x: g, incx: 1, y: xw, incy: 1)
        let alongAxis = ab * gw / q           // coefficient of x_w in ∂L/∂x_v, and of x_v in ∂L/∂x_w
        let axisScale = ab * c / q            // coefficient of g in ∂L/∂x_w
        let normTerm = -2 * ab * c * gw / (q * q)  // coefficient of x_w in ∂L/∂x_w
        for i in 0..<d {
            ov[i] += own * g[i] + alongAxis * xw[i]
            ow[i] += axisScale * g[i] + alongAxis * xv[i] + normTerm * xw[i]
        }
    }
}

/// How Symmetrical Synthesis's `α` and `β` change over training.
public enum SymmetricalSchedule: String, Codable, Sendable, CaseIterable {
    /// `α`, `β` fixed.
    case constant
    /// `α(p) = α + (finalAlpha − α)·p`, `β(p)` likewise, at progress `p = t/(T−1)`.
    case linear
}
