import DMLNumerics

/// Running sums of a triplet-type loss `Σ [M_ap − M_an + m]_+` and its gradient with respect to
/// the entries of `M`, before the division by the number of triplets.
struct TripletTally<T: BLASScalar> {
    /// `Σ ℓ` over the active (positive-loss) triplets.
    private(set) var sum = 0.0
    /// The number of selected triplets.
    private(set) var selected = 0
    /// The number of selected triplets with `ℓ > 0`.
    private(set) var active = 0
    /// `Σ ∂ℓ/∂M` over the active triplets, `size × size`.
    private(set) var weights: Matrix<T>

    /// An empty tally over a `size`-point set.
    init(size: Int) {
        weights = Matrix(rows: size, columns: size)
    }

    /// An empty tally over `rows` points against `columns` reference columns (points, then memory).
    init(rows: Int, columns: Int) {
        weights = Matrix(rows: rows, columns: columns)
    }

    /// Records the selected triplet `(a, p, n)` with loss `M_ap − M_an + m` before the hinge.
    /// `a`/`p` and `a`/`n` index the entries `M_ap`, `M_an` (any rows of the point set).
    @inline(__always)
    mutating func add(anchor a: Int, positive p: Int, negative n: Int, loss: T) {
        add(positiveEntry: (a, p), negativeEntry: (a, n), loss: loss)
    }

    /// Records a selected term `[M_positive − M_negative + m]_+` whose positive and negative
    /// distances are the given entries of `M`.
    @inline(__always)
    mutating func add(positiveEntry: (Int, Int), negativeEntry: (Int, Int), loss: T) {
        selected += 1
        guard loss > 0 else { return }
        active += 1
        sum += Double(loss)
        let size = weights.columns
        weights.withUnsafeMutableBufferPointer { w in
            w[positiveEntry.0 * size + positiveEntry.1] += 1
            w[negativeEntry.0 * size + negativeEntry.1] -= 1
        }
    }

    /// Records every triplet `(a, p, k)` over the columns `k` with `labels[k] ≠ anchorLabel`, in
    /// ascending `k`, with loss `M_ap − M_ak + m` (`metric`: row `a` of `M`, `M_ap` = `positive`):
    /// exactly what calling `add` for each `k` in that order records (the sum in the same order,
    /// the integer counts of the weights exact), in one pass over the row.
    @inline(__always)
    mutating func addAll(anchor a: Int, positive p: Int, positiveValue map: T, metric row: UnsafePointer<T>,
                         labels y: UnsafeBufferPointer<Int>, anchorLabel: Int, margin m: T) {
        let size = weights.columns
        var activeHere = 0, selectedHere = 0
        var total = sum
        weights.withUnsafeMutableBufferPointer { w in
            let out = w.baseAddress! + a * size
            for k in 0..<size where y[k] != anchorLabel {
                selectedHere += 1
                let loss = map - row[k] + m
                guard loss > 0 else { continue }
                activeHere += 1
                total += Double(loss)
                out[k] -= 1
            }
            out[p] += T(activeHere)
        }
        sum = total
        selected += selectedHere
        active += activeHere
    }

    /// The loss `sum / N` and its gradient with respect to `D²`, with `N` the selected or the
    /// active count: `weights / N` when `M = D²`, `weights / (2 D N)` when `M = D` (`distances`
    /// given); 0 and a zero gradient when `N = 0`.
    consuming func reduced(by reduction: TripletReduction, distances: Matrix<T>?) -> (value: T, squaredWeights: Matrix<T>) {
        let count = reduction == .mean ? selected : active
        guard count > 0 else { return (0, Matrix(rows: weights.rows, columns: weights.columns)) }
        let scale = 1 / T(count)
        var w = weights
        w.withUnsafeMutableBufferPointer { pw in
            if let distances {
                distances.withUnsafeBufferPointer { pd in
                    for k in 0..<pw.count where pw[k] != 0 { pw[k] *= scale * DistanceGradient.squaredPerDistance(pd[k]) }
                }
            } else {
                for k in 0..<pw.count { pw[k] *= scale }
            }
        }
        return (T(sum / Double(count)), w)
    }
}
