import DMLNumerics

/// Squared Euclidean distances between every point and a set of centres, one block of points
/// at a time, from one GEMM per block: `‖x − c‖² = max(0, ‖x‖² + ‖c‖² − 2 x·c)`.
///
/// Blocks are dealt out to the workers of a `ThreadPool`; each worker runs the GEMM of its block
/// (single-threaded BLAS, in its own scratch tile). The block height depends on the number of
/// centres and `blockSize`, never on the thread count, so the distances, and everything decided
/// from them, are identical at every thread count.
package struct SquaredDistanceBlocks<T: BLASScalar> {
    let points: Matrix<T>
    let pointNorms: [T]
    let blockSize: Int
    let pool: ThreadPool

    /// Scores per worker tile, at most (4 Mi scalars: 16 MiB of Float).
    static var tileScalars: Int { 1 << 22 }

    init(points: Matrix<T>, blockSize: Int, pool: ThreadPool) {
        self.points = points
        self.pointNorms = points.rowSquaredNorms()
        self.blockSize = blockSize
        self.pool = pool
    }

    /// Points per block against `count` centres: `blockSize`, lowered so one tile holds at most
    /// `tileScalars` scores (but at least 16 rows).
    package static func blockRows(blockSize: Int, centres count: Int) -> Int {
        Swift.max(1, Swift.min(blockSize, Swift.max(16, tileScalars / Swift.max(count, 1))))
    }

    /// Calls `visit(point, row, worker)` for every point, concurrently over disjoint points, with
    /// `row` the `count` squared distances from that point to every centre and `worker` the pool
    /// worker running the call (for per-worker scratch).
    func forEachPoint(centres: UnsafePointer<T>, count: Int, _ visit: (Int, UnsafePointer<T>, Int) -> Void) {
        let n = points.rows, d = points.columns
        guard count > 0, n > 0 else { return }
        var centreNorms = [T](repeating: 0, count: count)
        for c in 0..<count { centreNorms[c] = T.dot(n: d, x: centres + c * d, incx: 1, y: centres + c * d, incy: 1) }
        let rows = Swift.min(Self.blockRows(blockSize: blockSize, centres: count), n)
        let tiles = WorkerScratch<T>(workers: pool.threadCount)
        let pointNorms = pointNorms
        BLASThreads.with(1) {
            points.withUnsafeBufferPointer { xp in
                centreNorms.withUnsafeBufferPointer { cn in
                    pointNorms.withUnsafeBufferPointer { pn in
                        pool.forEachBlock(count: n, blockSize: rows) { _, block, worker in
                            let tile = tiles.buffer(worker, count: rows * count)
                            T.gemm(.none, .transpose, m: block.count, n: count, k: d, alpha: -2,
                                   a: xp.baseAddress! + block.lowerBound * d, lda: d,
                                   b: centres, ldb: d, beta: 0, c: tile, ldc: count)
                            for i in block {
                                let row = tile + (i - block.lowerBound) * count
                                let norm = pn[i]
                                for c in 0..<count { row[c] = Swift.max(0, row[c] + cn[c] + norm) }
                                visit(i, row, worker)
                            }
                        }
                    }
                }
            }
        }
    }
}
