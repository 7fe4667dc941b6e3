import DMLNumerics

/// Synthetic labelled embeddings shaped like a DML test set, for benchmarks: `classes` random
/// unit-scale centres in R^d, every item a centre plus isotropic Gaussian noise, then
/// L2-normalized (as DML embeddings usually are). Item `i` belongs to class `i mod classes`.
public struct ClusteredEmbeddings: Sendable {
    /// The `count × dimension` embeddings.
    public let embeddings: Matrix<Float>
    /// Their labels.
    public let labels: [Int]

    /// `count` items in `classes` classes; `spread` is the noise norm relative to the centre norm
    /// (larger is harder: about 2.5 gives Recall@1 well below 1 at d = 512).
    public init(count: Int, classes: Int, dimension: Int, spread: Double, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let scale = 1 / Double(dimension).squareRoot()
        let centres: Matrix<Float> = generator.normalMatrix(rows: classes, columns: dimension, std: scale)
        var x = Matrix<Float>(rows: count, columns: dimension)
        var labels = [Int](repeating: 0, count: count)
        x.withUnsafeMutableBufferPointer { p in
            centres.withUnsafeBufferPointer { c in
                for i in 0..<count {
                    let label = i % classes
                    labels[i] = label
                    var norm = 0.0
                    for j in 0..<dimension {
                        let v = Double(c[label * dimension + j]) + spread * scale * generator.nextNormal()
                        p[i * dimension + j] = Float(v)
                        norm += v * v
                    }
                    let inverse = Float(1 / norm.squareRoot())
                    for j in 0..<dimension { p[i * dimension + j] *= inverse }
                }
            }
        }
        self.embeddings = x
        self.labels = labels
    }
}
