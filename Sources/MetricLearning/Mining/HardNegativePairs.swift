import DMLNumerics

/// The hardest negative pair of every mining set and every other class (§5 of the spec).
///
/// Row `s` is a mining set (by default a group `g`: a positive pair and its synthetic points),
/// column `c` the class `classes[c]`. For `c` other than the set's class:
/// `value[s, c] = d⁻(s, c) = min_{p ∈ s, n ∈ class c} D_pn` (by distance) or
/// `s⁺(s, c) = max_{p ∈ s, n ∈ class c} S_pn` (by similarity), attained at the pair
/// `(groupPoint[s·C + c], classPoint[s·C + c])`; "class c" counts its originals and its synthetic
/// points. Ties go to the lowest `p`, then the lowest `n`. In the set's own column the value is 0
/// and both points are −1; so are the columns a `NegativeClassSampling` left out.
public struct HardNegativePairs<T: BLASScalar>: Sendable {
    /// The distinct labels, ascending: column `c` ↔ `classes[c]`.
    public let classes: [Int]
    /// `sets × classes`: `d⁻(s, c)` or `s⁺(s, c)`; 0 in a set's own column.
    public let value: Matrix<T>
    /// The `p` (member of the set) of each chosen pair, row-major `sets × classes`; −1 in the own column.
    public let groupPoint: [Int]
    /// The `n` (point of class `c`) of each chosen pair; −1 in the own column.
    public let classPoint: [Int]
    /// The column of every row's own class.
    public let ownColumn: [Int]
    /// The number of chosen pairs (one per row and other class).
    public let pairCount: Int
    /// The number of chosen pairs with at least one synthetic point.
    public let syntheticPairCount: Int

    /// The share of chosen pairs `(s, c)` whose pair involves at least one synthetic point
    /// (0 when there is no pair).
    public var syntheticFraction: Double {
        pairCount == 0 ? 0 : Double(syntheticPairCount) / Double(pairCount)
    }

    /// The number of rows (mining sets).
    public var rows: Int { value.rows }

    /// Whether column `c` is a negative class of row `s` that was mined: not the set's own
    /// class and, with `NegativeClassSampling`, among the set's kept classes.
    @inlinable
    public func isNegative(row s: Int, column c: Int) -> Bool { groupPoint[s * classes.count + c] >= 0 }

    /// The column of a label, if it occurs in the batch.
    public func column(ofLabel label: Int) -> Int? { classes.firstIndex(of: label) }

    /// Assembles the mined table (used by `HardNegativePairMiner`).
    init(classes: [Int], value: Matrix<T>, groupPoint: [Int], classPoint: [Int], ownColumn: [Int],
         isSynthetic: [Bool]) {
        self.classes = classes
        self.value = value
        self.groupPoint = groupPoint
        self.classPoint = classPoint
        self.ownColumn = ownColumn
        var pairs = 0, synthetic = 0
        for k in 0..<groupPoint.count where groupPoint[k] >= 0 {
            pairs += 1
            if isSynthetic[groupPoint[k]] || isSynthetic[classPoint[k]] { synthetic += 1 }
        }
        self.pairCount = pairs
        self.syntheticPairCount = synthetic
    }
}
