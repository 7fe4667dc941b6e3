import DMLNumerics

/// Embedding Expansion (Ko & Gu, CVPR 2020): synthetic points by linear interpolation between
/// the two embeddings of a positive pair, then L2 normalization.
///
/// For a pair `(x_i, x_j)` (`i = pair.first`) and `t = 1…n`:
/// `x̄_t = (t·x_i + (n+1−t)·x_j) / (n+1)` — the `n` points dividing the segment into `n + 1`
/// equal parts — and, with `normalize`, `x̃_t = x̄_t / ‖x̄_t‖` (a zero `x̄_t`, possible only for
/// `x_i = −x_j`, is left at 0 and passes no gradient).
///
/// **Adaptive n** (`adaptiveSpacing = δ > 0`): each pair gets its own
/// `n_ij = min(points, max(1, ⌈D_ij / δ⌉))`, `D_ij = ‖x_i − x_j‖`, the fewest points that keep the
/// spacing `D_ij / (n_ij + 1)` of the segment below `δ` (capped at `points`). `n_ij` is a
/// piecewise-constant function of `X`: no gradient flows through it.
///
/// **Class-mean axis** (`axis = .classMean`): every original `x_k` of a class with `K ≥ 2`
/// originals in the batch is interpolated towards the class mean `μ = (1/K) Σ_j x_j`:
/// `x̄_t = (t·x_k + (n+1−t)·μ) / (n+1)`, `t = 1…n` (adaptive `n_k` from `‖x_k − μ‖`); one group
/// per class holds its K originals and its points.
///
/// Backward, with `a_t = t/(n+1)` and `g` the gradient reaching `x̃_t`:
/// `∂L/∂x̄_t = (g − (g·x̃_t) x̃_t) / ‖x̄_t‖` (or `g` without normalization), then
/// `∂L/∂x_i += a_t ∂L/∂x̄_t` and `∂L/∂x_j += (1 − a_t) ∂L/∂x̄_t` (class-mean axis:
/// `∂L/∂μ += (1 − a_t) ∂L/∂x̄_t`, and every original of the class gets `(1/K) ∂L/∂μ`).
public struct EmbeddingExpansion: EmbeddingSynthesis, Codable, Equatable {
    /// `n`, the number of synthetic points per positive pair (≥ 1); the largest `n` when adaptive.
    public var points: Int
    /// Whether each synthetic point is scaled to unit length.
    public var normalize: Bool
    /// Which positive pairs generate points.
    public var pairing: PairingRule
    /// Whether the synthetic points pass no gradient back to the originals.
    public var detach: Bool
    /// `δ`: 0 for a fixed `n`; `> 0` for `n_ij = min(points, max(1, ⌈D_ij/δ⌉))`.
    public var adaptiveSpacing: Double
    /// Interpolate within each pair (the paper) or towards the class mean.
    public var axis: SynthesisAxis

    /// EE with the spec's defaults: `n = 2`, normalized, adjacent pairs, gradients flowing,
    /// fixed `n`, pair axis.
    public init(points: Int = 2, normalize: Bool = true, pairing: PairingRule = .adjacent, detach: Bool = false,
                adaptiveSpacing: Double = 0, axis: SynthesisAxis = .pair) {
        self.points = points
        self.normalize = normalize
        self.pairing = pairing
        self.detach = detach
        self.adaptiveSpacing = adaptiveSpacing
        self.axis = axis
    }

    private enum CodingKeys: String, CodingKey { case points, normalize, pairing, detach, adaptiveSpacing, axis }

    /// Decodes every field; `adaptiveSpacing` and `axis` (added later) default to 0 and `pair`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        points = try c.decode(Int.self, forKey: .points)
        normalize = try c.decode(Bool.self, forKey: .normalize)
        pairing = try c.decode(PairingRule.self, forKey: .pairing)
        detach = try c.decode(Bool.self, forKey: .detach)
        adaptiveSpacing = try c.decodeIfPresent(Double.self, forKey: .adaptiveSpacing) ?? 0
        axis = try c.decodeIfPresent(SynthesisAxis.self, forKey: .axis) ?? .pair
    }

    /// The number of points for a segment of length `distance`: `points`, or with adaptive
    /// spacing `δ`, `min(points, max(1, ⌈distance/δ⌉))`.
    public func pointCount(distance: Double) -> Int {
        guard adaptiveSpacing > 0 else { return points }
        let wanted = (distance / adaptiveSpacing).rounded(.up)
        return wanted >= Double(points) ? points : Swift.max(1, Int(wanted))
    }

    /// Throws `invalidOption` for `points < 1` or a negative or non-finite `adaptiveSpacing`.
    public func validateOptions() throws {
        guard points >= 1 else {
            throw MetricLearningError.invalidOption(name: "expansion.points", value: "\(points)", expected: "an integer ≥ 1")
        }
        guard adaptiveSpacing.isFinite && adaptiveSpacing >= 0 else {
            throw MetricLearningError.invalidOption(name: "expansion.adaptiveSpacing", value: "\(adaptiveSpacing)",
                                                    expected: "0 (fixed n) or a positive spacing")
        }
    }

    /// The originals followed by the interpolated points, group after group.
    ///
    /// - Throws: `MetricLearningError` for a label count mismatch, a non-finite embedding, or
    ///   invalid options (`validateOptions`).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func augment<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> AugmentedBatch<T> {
        try MetricLearningError.validate(embeddings, labels: labels)
        try validateOptions()
        let d = embeddings.columns, b = embeddings.rows
        var plan = SyntheticPlan<T>()
        var weights = [T]()
        var groups = [SyntheticGroup]()
        func distance(_ u: UnsafePointer<T>, _ v: UnsafePointer<T>) -> Double {
            var sum = 0.0
            for c in 0..<d { let e = Double(u[c] - v[c]); sum += e * e }
            return sum.squareRoot()
        }
        func addPoints(source: Int, axis: Int, distance: Double) {
            let n = pointCount(distance: distance)
            for t in 1...n {
                plan.sources.append(source)
                plan.axes.append(axis)
                weights.append(T(t) / T(n + 1))
            }
        }
        switch axis {
        case .pair:
            let pairs = PositivePairs.make(labels: labels, rule: pairing)
            embeddings.withUnsafeBufferPointer { px in
                let x = px.baseAddress!
                for pair in pairs {
                    let start = b + plan.count
                    addPoints(source: pair.first, axis: pair.second,
                              distance: adaptiveSpacing > 0 ? distance(x + pair.first * d, x + pair.second * d) : 0)
                    groups.append(SyntheticGroup(pair: pair, synthetic: start..<(b + plan.count)))
                }
            }
        case .classMean:
            plan.meanMembers = SyntheticPlan<T>.classGroups(labels: labels)
            plan.means = SyntheticPlan.classMeans(embeddings, classes: plan.meanMembers)
            embeddings.withUnsafeBufferPointer { px in
                plan.means.withUnsafeBufferPointer { pm in
                    for (m, members) in plan.meanMembers.enumerated() {
                        let start = b + plan.count
                        for k in members {
                            addPoints(source: k, axis: -(m + 1),
                                      distance: adaptiveSpacing > 0 ? distance(px.baseAddress! + k * d, pm.baseAddress! + m * d) : 0)
                        }
                        groups.append(SyntheticGroup(classOriginals: members, label: labels[members[0]],
                                                     synthetic: start..<(b + plan.count)))
                    }
                }
            }
        }
        var augmented = AugmentedBatch.pointMatrix(originals: embeddings, syntheticRows: plan.count)
        var inverseNorms = [T](repeating: 0, count: normalize ? plan.count : 0)
        augmented.withUnsafeMutableBufferPointer { pp in
            plan.means.withUnsafeBufferPointer { pm in
                let x = pp.baseAddress!, out = x + b * d
                for s in 0..<plan.count {
                    let row = out + s * d
                    let xv = x + plan.sources[s] * d
                    let w = plan.axis(s, points: x, means: pm.baseAddress, dimension: d)
                    let a = weights[s], c = 1 - a
                    for i in 0..<d { row[i] = a * xv[i] + c * w[i] }
                    guard normalize else { continue }
                    let norm = T.dot(n: d, x: row, incx: 1, y: row, incy: 1).squareRoot()
                    let inverse: T = norm > 0 ? 1 / norm : 0
                    inverseNorms[s] = inverse
                    for i in 0..<d { row[i] *= inverse }
                }
            }
        }
        return AugmentedBatch(points: augmented, originalCount: b, labels: labels, groups: groups,
                              origin: .expansion(plan: plan, weights: weights, inverseNorms: normalize ? inverseNorms : nil),
                              detach: detach)
    }

    /// Adds the gradient of the synthetic rows (`syntheticGradient`, one row per synthetic point)
    /// to the originals' rows of `out` (see the type's documentation for the formulas).
    static func backward<T: BLASScalar>(
        plan: SyntheticPlan<T>, weights: [T], inverseNorms: [T]?, points x: UnsafePointer<T>,
        originalCount: Int, dimension d: Int, syntheticGradient: UnsafePointer<T>, into out: UnsafeMutablePointer<T>
    ) {
        var meanGradient = [T](repeating: 0, count: plan.meanMembers.count * d)
        meanGradient.withUnsafeMutableBufferPointer { pmg in
            let mg = pmg.baseAddress
            for s in 0..<plan.count {
                let gs = syntheticGradient + s * d
                let a = weights[s], c = 1 - a
                let ov = out + plan.sources[s] * d
                let axis = plan.axes[s]
                let ow = axis >= 0 ? out + axis * d : mg! + (-axis - 1) * d
                if let inverseNorms {
                    let y = x + (originalCount + s) * d
                    let inverse = inverseNorms[s]
                    let radial = T.dot(n: d, x: gs, incx: 1, y: y, incy: 1)
                    for i in 0..<d {
                        let v = (gs[i] - radial * y[i]) * inverse
                        ov[i] += a * v
                        ow[i] += c * v
                    }
                } else {
                    for i in 0..<d {
                        ov[i] += a * gs[i]
                        ow[i] += c * gs[i]
                    }
                }
            }
            if let mg { plan.distributeMeanGradient(mg, dimension: d, into: out) }
        }
    }
}
