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
/// Backward, with `c = x_k·x_l`, `q = ‖x_l‖²` and `g` the gradient reaching `x'_k`
/// (`x'_k = β(1−α) x_k + αβ (c/q) x_l`):
/// `∂L/∂x_k += β(1−α) g + αβ (g·x_l / q) x_l`,
/// `∂L/∂x_l += αβ [ (c/q) g + (g·x_l / q) x_k − 2c (g·x_l) / q² · x_l ]`.
public struct SymmetricalSynthesis: EmbeddingSynthesis, Codable, Equatable {
    /// `α`, the reflection strength (2: mirror image; 1: the projection `r`; 0: `x_k` itself).
    public var alpha: Double
    /// `β`, the scale of the synthetic point.
    public var beta: Double
    /// Which positive pairs generate points.
    public var pairing: PairingRule
    /// Whether the synthetic points pass no gradient back to the originals.
    public var detach: Bool

    /// Symm with the spec's defaults: `α = 2`, `β = 1`, adjacent pairs, gradients flowing.
    public init(alpha: Double = 2, beta: Double = 1, pairing: PairingRule = .adjacent, detach: Bool = false) {
        self.alpha = alpha
        self.beta = beta
        self.pairing = pairing
        self.detach = detach
    }

    /// The originals followed by `x'_first, x'_second` for every positive pair (pair-major).
    ///
    /// - Throws: `MetricLearningError` for a label count mismatch, a non-finite embedding, or a
    ///   non-finite `α` or `β`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func augment<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> AugmentedBatch<T> {
        try MetricLearningError.validate(embeddings, labels: labels)
        guard alpha.isFinite else {
            throw MetricLearningError.invalidOption(name: "symmetrical.alpha", value: "\(alpha)", expected: "a finite number")
        }
        guard beta.isFinite else {
            throw MetricLearningError.invalidOption(name: "symmetrical.beta", value: "\(beta)", expected: "a finite number")
        }
        let pairs = PositivePairs.make(labels: labels, rule: pairing)
        let d = embeddings.columns
        let alpha = T(self.alpha), beta = T(self.beta)
        let originalCount = embeddings.rows
        var augmented = AugmentedBatch.pointMatrix(originals: embeddings, syntheticRows: 2 * pairs.count)
        augmented.withUnsafeMutableBufferPointer { pp in
            let x = pp.baseAddress!, out = x + originalCount * d
            for (g, pair) in pairs.enumerated() {
                let xk = x + pair.first * d, xl = x + pair.second * d
                let c = T.dot(n: d, x: xk, incx: 1, y: xl, incy: 1)
                let qk = T.dot(n: d, x: xk, incx: 1, y: xk, incy: 1)
                let ql = T.dot(n: d, x: xl, incx: 1, y: xl, incy: 1)
                Self.reflect(xk, about: xl, dot: c, axisSquaredNorm: ql, alpha: alpha, beta: beta,
                             dimension: d, into: out + (2 * g) * d)
                Self.reflect(xl, about: xk, dot: c, axisSquaredNorm: qk, alpha: alpha, beta: beta,
                             dimension: d, into: out + (2 * g + 1) * d)
            }
        }
        return AugmentedBatch(points: augmented, originalCount: originalCount, labels: labels, pairs: pairs, pointsPerPair: 2,
                              origin: .symmetrical(alpha: alpha, beta: beta), detach: detach)
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

    /// Adds the gradient of the synthetic rows (from `pointGradient`, rows `originalCount…`) to
    /// the originals' rows of `out` (see the type's documentation for the formulas).
    static func backward<T: BLASScalar>(
        pairs: [PositivePair], alpha: T, beta: T, points x: UnsafePointer<T>,
        originalCount: Int, dimension d: Int, pointGradient: UnsafePointer<T>, into out: UnsafeMutablePointer<T>
    ) {
        for (g, pair) in pairs.enumerated() {
            let k = pair.first, l = pair.second
            let c = T.dot(n: d, x: x + k * d, incx: 1, y: x + l * d, incy: 1)
            let gk = pointGradient + (originalCount + 2 * g) * d
            let gl = pointGradient + (originalCount + 2 * g + 1) * d
            reflectionBackward(gk, of: k, about: l, dot: c, alpha: alpha, beta: beta, points: x, dimension: d, into: out)
            reflectionBackward(gl, of: l, about: k, dot: c, alpha: alpha, beta: beta, points: x, dimension: d, into: out)
        }
    }

    /// The gradient `g` of the point made from `x_v` about the axis of `x_w`, carried to rows `v`
    /// and `w` of `out`.
    private static func reflectionBackward<T: BLASScalar>(
        _ g: UnsafePointer<T>, of v: Int, about w: Int, dot c: T, alpha: T, beta: T,
        points x: UnsafePointer<T>, dimension d: Int, into out: UnsafeMutablePointer<T>
    ) {
        let xv = x + v * d, xw = x + w * d
        let ov = out + v * d, ow = out + w * d
        let own = beta * (1 - alpha)
        let q = T.dot(n: d, x: xw, incx: 1, y: xw, incy: 1)
        guard q > 0 else {
            for i in 0..<d { ov[i] += own * g[i] }
            return
        }
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
