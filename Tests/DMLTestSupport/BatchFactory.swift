import DMLNumerics
import RealModule

/// Generators of the class-balanced batches metric learning works on: C classes × K samples.
public enum BatchFactory {
    /// Labels of a C×K batch in the standard order `0,0,…,0,1,1,…` (K consecutive samples per
    /// class), the order that `adjacent` pairing relies on.
    public static func labels(classes: Int, perClass: Int) -> [Int] {
        (0..<classes).flatMap { c in Array(repeating: c, count: perClass) }
    }

    /// A seeded C×K batch: `classes · perClass` rows of dimension `dimension`. Each class has a
    /// random centre and its samples scatter around it with standard deviation `spread`;
    /// with `normalized` every row is scaled to unit length.
    public static func batch(
        classes: Int, perClass: Int, dimension: Int, seed: UInt64,
        spread: Double = 0.5, normalized: Bool = false
    ) -> (embeddings: Matrix<Double>, labels: [Int]) {
        var rng = SeededGenerator(seed: seed)
        let centres: Matrix<Double> = rng.normalMatrix(rows: classes, columns: dimension)
        let labels = labels(classes: classes, perClass: perClass)
        var x = Matrix<Double>(rows: labels.count, columns: dimension)
        for (i, c) in labels.enumerated() {
            for j in 0..<dimension { x[i, j] = centres[c, j] + spread * rng.nextNormal() }
        }
        if normalized { x = normalizeRows(x) }
        return (x, labels)
    }

    /// Every row scaled to unit Euclidean length.
    public static func normalizeRows(_ x: Matrix<Double>) -> Matrix<Double> {
        var y = x
        for i in 0..<x.rows {
            let norm = Double.sqrt(x.row(i).reduce(0) { $0 + $1 * $1 })
            for j in 0..<x.columns { y[i, j] = x[i, j] / norm }
        }
        return y
    }

    /// A random permutation of `0..<n` from `seed`.
    public static func permutation(_ n: Int, seed: UInt64) -> [Int] {
        var rng = SeededGenerator(seed: seed)
        return rng.shuffled(0..<n)
    }
}
