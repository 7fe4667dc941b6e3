import DMLNumerics

/// The triplet loss (Weinberger & Saul 2009; Schroff et al. 2015) over the triplets of a batch:
///
/// `ℓ(a, p, n) = [M_ap − M_an + m]_+`, `M = D` (Euclidean distance) or `M = D²` (`squared`).
///
/// **The triplet set.** Anchors `a` are ordered: every sample of the batch is an anchor; its
/// positives are the samples `p ≠ a` with `y_p = y_a`, its negatives every `n` with `y_n ≠ y_a`.
/// So `all` scores `Σ_a (n_{y_a} − 1)(B − n_{y_a})` triplets, and each unordered positive pair
/// appears twice (once per anchor). `selection` keeps all of them, the semi-hard ones
/// (`M_ap < M_an < M_ap + m`) or one batch-hard triplet per anchor (hardest positive, hardest
/// negative, lowest index on ties). `reduction` divides the summed loss by the number of
/// selected triplets (`mean`) or of selected triplets with non-zero loss (`nonzero`); with no
/// such triplet the loss is 0.
///
/// Gradient (one GEMM through `PairwiseDistances.backward`): each active triplet adds
/// `1/N` to `∂L/∂M_ap` and `−1/N` to `∂L/∂M_an`.
///
/// **Memory.** With memory points, anchors stay the batch rows; the positives of an anchor are
/// its batch positives and the memory points of its class, its negatives the batch and memory
/// points of other classes (in that order; ties of `hardest` go to the lowest column, batch
/// before memory). `M_am` is the distance (or squared distance) to memory point `m`.
///
/// The hard-negative-pair-mining form is in `TripletLoss+HardNegativeMining.swift`.
public struct TripletLoss: MetricLoss, Codable, Equatable, Sendable {
    /// The margin `m` [0.2].
    public var margin: Double
    /// Whether `M` is the squared distance `D²` instead of `D` [false].
    public var squared: Bool
    /// Which triplets are scored [all].
    public var selection: TripletSelection
    /// How the scored triplets are averaged [mean].
    public var reduction: TripletReduction

    /// A triplet loss; the defaults are the spec's.
    public init(margin: Double = 0.2, squared: Bool = false,
                selection: TripletSelection = .all, reduction: TripletReduction = .mean) {
        self.margin = margin
        self.squared = squared
        self.selection = selection
        self.reduction = reduction
    }

    /// Throws `invalidOption` if the margin is negative or not finite.
    public func validateOptions() throws {
        try MetricLearningError.requireFinite(margin, atLeast: 0, name: "triplet margin")
    }

    /// `L(X)` and `∂L/∂X` of the plain form (see the type's documentation). Throws when the batch
    /// has no positive pair or a single class.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func loss<T: BLASScalar>(_ embeddings: Matrix<T>, labels: [Int], memory: MemoryPoints<T>?,
                                     pool: ThreadPool?) throws -> LossOutput<T> {
        try validateOptions()
        _ = try LabelStatistics.ofValidBatch(embeddings, labels: labels)
        try memory?.requireDimension(embeddings.columns)

        let geometry = ReferenceGeometry(embeddings, memory: memory?.embeddings, squared: squared, pool: pool)
        let metric = squared ? geometry.squared : geometry.distances
        let columnLabels = MemoryPairs(labels: labels, memory: memory).columnLabels
        let classes = ClassMembers(columnLabels)
        var tally = TripletTally<T>(rows: geometry.rows, columns: geometry.columns)
        metric.withUnsafeBufferPointer { pm in
            columnLabels.withUnsafeBufferPointer { y in
                for a in 0..<geometry.rows {
                    accumulate(anchor: a, metric: pm, labels: y, classes: classes, into: &tally)
                }
            }
        }
        let (value, weights) = tally.reduced(by: reduction, distances: squared ? nil : geometry.distances)
        return LossOutput(value: value, gradient: geometry.backward(squared: weights))
    }

    /// Adds the selected triplets of anchor `a` to `tally` (`y`: the label of every column,
    /// the row stride of `pm`).
    private func accumulate<T: BLASScalar>(
        anchor a: Int, metric pm: UnsafeBufferPointer<T>, labels y: UnsafeBufferPointer<Int>,
        classes: ClassMembers, into tally: inout TripletTally<T>
    ) {
        let n = y.count
        let row = a * n
        let m = T(margin)
        let ya = y[a]
        switch selection {
        case .all:
            for p in classes.members(ofClassOf: a) where p != a {
                tally.addAll(anchor: a, positive: p, positiveValue: pm[row + p], metric: pm.baseAddress! + row,
                             labels: y, anchorLabel: ya, margin: m)
            }
        case .semihard:
            let semihard = true
            for p in classes.members(ofClassOf: a) where p != a {
                let map = pm[row + p]
                for k in 0..<n where y[k] != ya {
                    let man = pm[row + k]
                    if semihard && !(map < man && man < map + m) { continue }
                    tally.add(anchor: a, positive: p, negative: k, loss: map - man + m)
                }
            }
        case .hardest:
            var hardestPositive = -1, hardestNegative = -1
            for p in classes.members(ofClassOf: a) where p != a {
                if hardestPositive < 0 || pm[row + p] > pm[row + hardestPositive] { hardestPositive = p }
            }
            for k in 0..<n where y[k] != ya {
                if hardestNegative < 0 || pm[row + k] < pm[row + hardestNegative] { hardestNegative = k }
            }
            guard hardestPositive >= 0, hardestNegative >= 0 else { return }
            tally.add(anchor: a, positive: hardestPositive, negative: hardestNegative,
                      loss: pm[row + hardestPositive] - pm[row + hardestNegative] + m)
        }
    }
}
