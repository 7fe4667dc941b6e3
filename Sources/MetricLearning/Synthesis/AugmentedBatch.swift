import DMLNumerics

/// A batch of embeddings with the synthetic points made from its positive pairs (§4 of the spec).
///
/// Rows `0..<originalCount` of `points` are the originals in batch order; the synthetic points
/// follow, group by group, contiguous (with a fixed number of points per pair, the points of
/// group `g` are rows `originalCount + g·pointsPerPair ..< originalCount + (g + 1)·pointsPerPair`).
/// Each synthetic point has the class of its group and belongs to exactly one group; an original
/// belongs to every group that contains it (none, one, or several when K > 2 with `all` pairing;
/// exactly its class's group with the class-mean axis).
public struct AugmentedBatch<T: BLASScalar>: Sendable {
    /// Originals then synthetic points, `(originalCount + syntheticCount) × d`.
    public let points: Matrix<T>
    /// The class of every point (a synthetic point has its pair's class).
    public let labels: [Int]
    /// `B`, the number of originals.
    public let originalCount: Int
    /// `isSynthetic[k] == (k >= originalCount)`.
    public let isSynthetic: [Bool]
    /// One group per generating positive pair, in the order of `PositivePairs.make`.
    public let groups: [SyntheticGroup]
    /// The largest number of synthetic points of a group (0 without synthesis; `n` for EE and 2
    /// for Symm on the pair axis, where every group has that many — except EE with an adaptive
    /// `n`, whose groups have 1…n; on the class-mean axis `K·n` or `K` for a class of K).
    public let pointsPerPair: Int
    /// Whether `backward` drops the gradient of the synthetic points (a stop-gradient).
    public let detach: Bool
    /// What `backward` needs to differentiate the synthesis.
    let origin: SyntheticOrigin<T>

    /// The originals followed by `syntheticRows` zero rows, for a synthesis to fill in place.
    static func pointMatrix(originals: Matrix<T>, syntheticRows: Int) -> Matrix<T> {
        var elements = originals.elements
        elements.append(contentsOf: repeatElement(0, count: syntheticRows * originals.columns))
        return Matrix(rows: originals.rows + syntheticRows, columns: originals.columns, elements: elements)
    }

    /// The augmented set `points` (the `originalCount` originals, then `pointsPerPair` synthetic
    /// rows per pair, pair-major) with its classes, groups and backward rule.
    init(points: Matrix<T>, originalCount b: Int, labels: [Int], pairs: [PositivePair], pointsPerPair: Int,
         origin: SyntheticOrigin<T>, detach: Bool) {
        precondition(points.rows == b + pairs.count * pointsPerPair && labels.count == b,
                     "the augmented set must hold the originals and pointsPerPair rows per pair")
        let groups = pairs.enumerated().map { g, pair in
            let start = b + g * pointsPerPair
            return SyntheticGroup(pair: pair, synthetic: start..<(start + pointsPerPair))
        }
        self.init(points: points, originalCount: b, labels: labels, groups: groups, origin: origin, detach: detach)
    }

    /// The augmented set `points` (the `originalCount` originals, then the synthetic points of
    /// each group in group order, contiguous) with its groups and backward rule.
    init(points: Matrix<T>, originalCount b: Int, labels: [Int], groups: [SyntheticGroup],
         origin: SyntheticOrigin<T>, detach: Bool) {
        precondition(labels.count == b, "one label per original")
        self.points = points
        var allLabels = labels
        allLabels.reserveCapacity(points.rows)
        var largest = 0
        for group in groups {
            let synthetic = group.members.count - group.originals.count
            precondition(synthetic == 0 || group.members[group.originals.count] == b + allLabels.count - labels.count,
                         "the synthetic points of the groups must follow the originals in group order")
            allLabels.append(contentsOf: repeatElement(group.label, count: synthetic))
            largest = Swift.max(largest, synthetic)
        }
        precondition(allLabels.count == points.rows, "the augmented set must hold the originals and every group's points")
        self.labels = allLabels
        self.originalCount = b
        self.isSynthetic = (0..<points.rows).map { $0 >= b }
        self.groups = groups
        self.pointsPerPair = largest
        self.detach = detach
        self.origin = origin
    }

    /// The number of synthetic points.
    public var syntheticCount: Int { points.rows - originalCount }

    /// The embedding dimension `d`.
    public var dimension: Int { points.columns }

    /// `∂L/∂X` for the originals from `∂L/∂P` for every point of the augmented set.
    ///
    /// Row `k < B` of the result is row `k` of `pointGradient` plus, unless `detach`, the
    /// gradient that the synthetic points made from original `k` carry back through the
    /// synthesis (the interpolation and the normalization for EE, the projection for Symm). One
    /// pass over the synthetic rows, no allocation besides the result.
    ///
    /// - Precondition: `pointGradient` is `points.rows × d`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ pointGradient: Matrix<T>) -> Matrix<T> {
        precondition(pointGradient.rows == points.rows && pointGradient.columns == dimension,
                     "point gradient must be \(points.rows)×\(dimension), got \(pointGradient.rows)×\(pointGradient.columns)")
        guard syntheticCount > 0 else { return pointGradient }
        let d = dimension
        var result = Matrix<T>(rows: originalCount, columns: d,
                               elements: Array(pointGradient.elements[0..<(originalCount * d)]))
        guard !detach else { return result }
        points.withUnsafeBufferPointer { pp in
            pointGradient.withUnsafeBufferPointer { pg in
                result.withUnsafeMutableBufferPointer { pr in
                    let x = pp.baseAddress!, g = pg.baseAddress! + originalCount * d, out = pr.baseAddress!
                    switch origin {
                    case .none:
                        break
                    case let .expansion(plan, weights, inverseNorms):
                        EmbeddingExpansion.backward(plan: plan, weights: weights, inverseNorms: inverseNorms,
                                                    points: x, originalCount: originalCount, dimension: d,
                                                    syntheticGradient: g, into: out)
                    case let .symmetrical(plan, alpha, beta):
                        SymmetricalSynthesis.backward(plan: plan, alpha: alpha, beta: beta, points: x,
                                                      originalCount: originalCount, dimension: d,
                                                      syntheticGradient: g, into: out)
                    }
                }
            }
        }
        return result
    }
}
