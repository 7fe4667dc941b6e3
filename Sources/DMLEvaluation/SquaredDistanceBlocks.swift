import DMLNumerics

/// Squared Euclidean distances between every point and a set of centres, one block of points
/// at a time, from one GEMM per block: `‖x − c‖² = max(0, ‖x‖² + ‖c‖² − 2 x·c)`.
struct SquaredDistanceBlocks<T: BLASScalar> {
    let points: Matrix<T>
    let pointNorms: [T]
    let blockSize: Int
    let threads: Int

    init(points: Matrix<T>, blockSize: Int, threads: Int) {
        self.points = points
        self.pointNorms = points.rowSquaredNorms()
        self.blockSize = blockSize
        self.threads = threads
    }

    /// Calls `visit(point, row)` for every point, concurrently over disjoint points, with `row`
    /// the `centres.rows` squared distances from that point to every centre.
    func forEachPoint(centres: UnsafePointer<T>, count: Int, _ visit: (Int, UnsafePointer<T>) -> Void) {
        let n = points.rows, d = points.columns
        guard count > 0 else { return }
        var centreNorms = [T](repeating: 0, count: count)
        for c in 0..<count { centreNorms[c] = T.dot(n: d, x: centres + c * d, incx: 1, y: centres + c * d, incy: 1) }
        let rows = Swift.min(blockSize, n)
        var tile = [T](repeating: 0, count: rows * count)
        let pointNorms = pointNorms, threads = threads
        points.withUnsafeBufferPointer { xp in
            tile.withUnsafeMutableBufferPointer { tp in
                centreNorms.withUnsafeBufferPointer { cn in
                    let tile = SharedPointer(base: tp.baseAddress!)
                    for p0 in stride(from: 0, to: n, by: rows) {
                        let m = Swift.min(rows, n - p0)
                        T.gemm(.none, .transpose, m: m, n: count, k: d, alpha: -2, a: xp.baseAddress! + p0 * d, lda: d,
                               b: centres, ldb: d, beta: 0, c: tile.base, ldc: count)
                        ParallelChunks.run(count: m, workers: threads) { range in
                            for r in range {
                                let row = tile.base + r * count
                                let norm = pointNorms[p0 + r]
                                for c in 0..<count { row[c] = Swift.max(0, row[c] + cn[c] + norm) }
                                visit(p0 + r, row)
                            }
                        }
                    }
                }
            }
        }
    }
}
