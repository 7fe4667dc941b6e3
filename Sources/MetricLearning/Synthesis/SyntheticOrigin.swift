import DMLNumerics

/// How the synthetic points of an `AugmentedBatch` were made: what its backward pass needs.
///
/// Every synthetic point `s` is made from a *source* original `x_{v_s}` and an *axis* vector
/// `w_s`: another original (the pair axis) or the mean `μ_c = (1/K) Σ_{j ∈ class c} x_j` of the
/// source's class in the batch (the class-mean axis). `SyntheticPlan` holds both per point.
enum SyntheticOrigin<T: BLASScalar>: Sendable {
    /// No synthetic point.
    case none
    /// Embedding Expansion: `x̄_s = a_s x_{v_s} + (1 − a_s) w_s`, then divided by its norm when
    /// `inverseNorms` is set (one `1/‖x̄_s‖` per synthetic point, 0 for a zero `x̄_s`).
    case expansion(plan: SyntheticPlan<T>, weights: [T], inverseNorms: [T]?)
    /// Symmetrical Synthesis with its `α` and `β`: `x'_s = β(1−α) x_{v_s} + αβ (x_{v_s}·w_s/‖w_s‖²) w_s`.
    case symmetrical(plan: SyntheticPlan<T>, alpha: T, beta: T)
}

/// Which axis a synthesis works around.
public enum SynthesisAxis: String, Codable, Sendable, CaseIterable {
    /// The other member of a generating positive pair (the papers' rule): one group per pair.
    case pair
    /// The mean of the class's originals in the batch, `μ_c = (1/K) Σ_{j: y_j = c} x_j`: one
    /// group per class with at least two originals, whose every original makes points around `μ_c`.
    case classMean = "class-mean"
}

/// The source and axis of every synthetic point of a batch, and the class means used as axes.
struct SyntheticPlan<T: BLASScalar>: Sendable {
    /// `v_s`, the source original of synthetic point `s` (0-based among the synthetic points).
    var sources: [Int] = []
    /// The axis of point `s`: an original index `≥ 0`, or `−(m + 1)` for class mean `m`.
    var axes: [Int] = []
    /// The originals averaged by each class mean (ascending).
    var meanMembers: [[Int]] = []
    /// The class means, one row per entry of `meanMembers` (`means × d`).
    var means: Matrix<T> = Matrix(rows: 0, columns: 0)

    /// The number of synthetic points.
    var count: Int { sources.count }

    /// A pointer to the axis vector of point `s` (a row of `x` or of `means`).
    @inline(__always)
    func axis(_ s: Int, points x: UnsafePointer<T>, means m: UnsafePointer<T>?, dimension d: Int) -> UnsafePointer<T> {
        let a = axes[s]
        return a >= 0 ? x + a * d : m! + (-a - 1) * d
    }

    /// Adds the gradient with respect to the class means (`meanGradient`, `means × d`) to the
    /// originals they average: `∂L/∂x_j += (1/K) ∂L/∂μ_c` for every `j` of class `c`.
    func distributeMeanGradient(_ meanGradient: UnsafePointer<T>, dimension d: Int, into out: UnsafeMutablePointer<T>) {
        for (m, members) in meanMembers.enumerated() {
            let scale = 1 / T(members.count)
            let g = meanGradient + m * d
            for j in members {
                let o = out + j * d
                for c in 0..<d { o[c] += scale * g[c] }
            }
        }
    }

    /// The class means `μ_c` of `x` for the classes of `groups` (class groups), in group order.
    static func classMeans(_ x: Matrix<T>, classes: [[Int]]) -> Matrix<T> {
        let d = x.columns
        var means = Matrix<T>(rows: classes.count, columns: d)
        x.withUnsafeBufferPointer { px in
            means.withUnsafeMutableBufferPointer { pm in
                for (m, members) in classes.enumerated() {
                    let row = pm.baseAddress! + m * d
                    for j in members {
                        let xj = px.baseAddress! + j * d
                        for c in 0..<d { row[c] += xj[c] }
                    }
                    let scale = 1 / T(members.count)
                    for c in 0..<d { row[c] *= scale }
                }
            }
        }
        return means
    }

    /// The class groups of a batch: the originals of every class with at least two of them,
    /// ascending, classes in the order of their first original.
    static func classGroups(labels: [Int]) -> [[Int]] {
        var index = [Int: Int]()
        var groups = [[Int]]()
        for (i, y) in labels.enumerated() {
            if let g = index[y] { groups[g].append(i) } else {
                index[y] = groups.count
                groups.append([i])
            }
        }
        return groups.filter { $0.count >= 2 }
    }
}
