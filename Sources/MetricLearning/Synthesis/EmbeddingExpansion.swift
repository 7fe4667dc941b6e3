import DMLNumerics

/// Embedding Expansion (Ko & Gu, CVPR 2020): synthetic points by linear interpolation between
/// the two embeddings of a positive pair, then L2 normalization.
///
/// For a pair `(x_i, x_j)` (`i = pair.first`) and `t = 1…n`:
/// `x̄_t = (t·x_i + (n+1−t)·x_j) / (n+1)` — the `n` points dividing the segment into `n + 1`
/// equal parts — and, with `normalize`, `x̃_t = x̄_t / ‖x̄_t‖` (a zero `x̄_t`, possible only for
/// `x_i = −x_j`, is left at 0 and passes no gradient).
///
/// Backward, with `a_t = t/(n+1)` and `g` the gradient reaching `x̃_t`:
/// `∂L/∂x̄_t = (g − (g·x̃_t) x̃_t) / ‖x̄_t‖` (or `g` without normalization), then
/// `∂L/∂x_i += a_t ∂L/∂x̄_t` and `∂L/∂x_j += (1 − a_t) ∂L/∂x̄_t`.
public struct EmbeddingExpansion: EmbeddingSynthesis, Codable, Equatable {
    /// `n`, the number of synthetic points per positive pair (≥ 1).
    public var points: Int
    /// Whether each synthetic point is scaled to unit length.
    public var normalize: Bool
    /// Which positive pairs generate points.
    public var pairing: PairingRule
    /// Whether the synthetic points pass no gradient back to the originals.
    public var detach: Bool

    /// EE with the spec's defaults: `n = 2`, normalized, adjacent pairs, gradients flowing.
    public init(points: Int = 2, normalize: Bool = true, pairing: PairingRule = .adjacent, detach: Bool = false) {
        self.points = points
        self.normalize = normalize
        self.pairing = pairing
        self.detach = detach
    }

    /// The originals followed by `n` interpolated points per positive pair (pair-major).
    ///
    /// - Throws: `MetricLearningError` for a label count mismatch, a non-finite embedding, or
    ///   `points < 1`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func augment<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int]) throws -> AugmentedBatch<T> {
        try MetricLearningError.validate(embeddings, labels: labels)
        guard points >= 1 else {
            throw MetricLearningError.invalidOption(name: "expansion.points", value: "\(points)",
                                                    expected: "an integer ≥ 1")
        }
        let pairs = PositivePairs.make(labels: labels, rule: pairing)
        let n = points, d = embeddings.columns
        let firstWeights = (1...n).map { T($0) / T(n + 1) }
        let originalCount = embeddings.rows
        var augmented = AugmentedBatch.pointMatrix(originals: embeddings, syntheticRows: pairs.count * n)
        var inverseNorms = [T](repeating: 0, count: normalize ? pairs.count * n : 0)
        augmented.withUnsafeMutableBufferPointer { pp in
            let x = pp.baseAddress!, out = x + originalCount * d
            for (g, pair) in pairs.enumerated() {
                let xi = x + pair.first * d, xj = x + pair.second * d
                for t in 0..<n {
                    let s = g * n + t
                    let row = out + s * d
                    let a = firstWeights[t], b = 1 - a
                    for c in 0..<d { row[c] = a * xi[c] + b * xj[c] }
                    guard normalize else { continue }
                    let norm = T.dot(n: d, x: row, incx: 1, y: row, incy: 1).squareRoot()
                    let inverse: T = norm > 0 ? 1 / norm : 0
                    inverseNorms[s] = inverse
                    for c in 0..<d { row[c] *= inverse }
                }
            }
        }
        return AugmentedBatch(points: augmented, originalCount: originalCount, labels: labels, pairs: pairs, pointsPerPair: n,
                              origin: .expansion(firstWeights: firstWeights, inverseNorms: normalize ? inverseNorms : nil),
                              detach: detach)
    }

    /// Adds the gradient of the synthetic rows (from `pointGradient`, rows `originalCount…`) to
    /// the originals' rows of `out` (see the type's documentation for the formulas).
    static func backward<T: BLASScalar>(
        pairs: [PositivePair], firstWeights: [T], inverseNorms: [T]?, points x: UnsafePointer<T>,
        originalCount: Int, dimension d: Int, pointGradient: UnsafePointer<T>, into out: UnsafeMutablePointer<T>
    ) {
        let n = firstWeights.count
        for (g, pair) in pairs.enumerated() {
            let oi = out + pair.first * d, oj = out + pair.second * d
            for t in 0..<n {
                let s = g * n + t
                let gs = pointGradient + (originalCount + s) * d
                let a = firstWeights[t], b = 1 - a
                if let inverseNorms {
                    let y = x + (originalCount + s) * d
                    let inverse = inverseNorms[s]
                    let radial = T.dot(n: d, x: gs, incx: 1, y: y, incy: 1)
                    for c in 0..<d {
                        let v = (gs[c] - radial * y[c]) * inverse
                        oi[c] += a * v
                        oj[c] += b * v
                    }
                } else {
                    for c in 0..<d {
                        oi[c] += a * gs[c]
                        oj[c] += b * gs[c]
                    }
                }
            }
        }
    }
}
