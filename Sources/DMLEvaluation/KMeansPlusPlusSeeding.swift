import DMLNumerics

/// k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre is a uniformly random
/// point; each next centre is point `i` with probability `D(i)² / Σ_j D(j)²`, where `D(i)` is the
/// distance from point `i` to the nearest centre chosen so far.
///
/// Done naively, each of the `K` centres costs a pass over all `N` points (`K` GEMV passes, very
/// slow for `K` in the thousands). This implementation draws from *exactly* the same
/// distribution by rejection sampling against a stale table:
/// - `S(i)` is `D(i)²` as of the last refresh; the centres chosen since then are *pending*.
///   The current `D(i)² = min(S(i), min_{p pending} ‖x_i − x_p‖²) ≤ S(i)`.
/// - A candidate `i` is drawn with probability `S(i) / Σ S` (prefix sums + binary search) and
///   accepted with probability `D(i)² / S(i)`. An accepted draw is distributed as
///   `D(i)² / Σ D²`, the k-means++ law; a rejected one is redrawn.
/// - After `seedingBatch` pending centres (or as many rejections) all `S(i)` are refreshed by
///   one blocked GEMM against the pending centres, so the total GEMM work is one `N × K × d`
///   product, done at BLAS speed.
/// Distances to pending centres are computed directly in Double; refreshed ones by GEMM in `T`,
/// so the law is exact up to that rounding. If every remaining `D²` is zero (fewer distinct
/// points than `K`), the remaining centres are the lowest-index points not yet chosen.
struct KMeansPlusPlusSeeding<T: BLASScalar> {
    let points: Matrix<T>
    let distances: SquaredDistanceBlocks<T>
    let batch: Int

    /// The indices of the `clusters` points chosen as initial centres, in the order chosen.
    func chooseCentres(clusters: Int, generator: inout SeededGenerator) -> [Int] {
        let n = points.rows, d = points.columns
        var chosen = [Int]()
        chosen.reserveCapacity(clusters)
        var isChosen = [Bool](repeating: false, count: n)
        var stale = [Double](repeating: .infinity, count: n)
        var prefix = [Double](repeating: 0, count: n)
        var pending = [generator.nextInt(below: n)]
        chosen.append(pending[0])
        isChosen[pending[0]] = true
        var rejections = 0

        func refresh() {
            let centres = points.gatheringRows(pending)
            let count = pending.count
            stale.withUnsafeMutableBufferPointer { sp in
                let shared = SharedPointer(base: sp.baseAddress!)
                centres.withUnsafeBufferPointer { cp in
                    distances.forEachPoint(centres: cp.baseAddress!, count: count) { i, row, _ in
                        var best = shared.base[i]
                        for c in 0..<count where Double(row[c]) < best { best = Double(row[c]) }
                        shared.base[i] = best
                    }
                }
            }
            for i in chosen { stale[i] = 0 }
            var running = 0.0
            for i in 0..<n {
                running += stale[i]
                prefix[i] = running
            }
            pending.removeAll(keepingCapacity: true)
            rejections = 0
        }

        refresh()
        points.withUnsafeBufferPointer { xp in
            while chosen.count < clusters {
                if pending.count >= batch || rejections >= batch { refresh() }
                let total = prefix[n - 1]
                guard total > 0 else { break }
                let target = generator.nextUniform() * total
                let candidate = Self.firstIndex(in: prefix, above: target)
                guard stale[candidate] > 0 else {  // only when rounding puts `target` at the very end
                    rejections += 1
                    continue
                }
                var current = stale[candidate]
                for p in pending {
                    current = Swift.min(current, Self.squaredDistance(xp.baseAddress! + candidate * d, xp.baseAddress! + p * d, d))
                }
                if pending.isEmpty || generator.nextUniform() * stale[candidate] < current {
                    chosen.append(candidate)
                    isChosen[candidate] = true
                    pending.append(candidate)
                } else {
                    rejections += 1
                }
            }
        }
        Self.complete(&chosen, isChosen: &isChosen, clusters: clusters)
        return chosen
    }

    /// Fills `chosen` up to `clusters` centres with the lowest-index points not chosen yet (when
    /// every remaining point coincides with a centre, the potential is 0 and nothing is drawn).
    static func complete(_ chosen: inout [Int], isChosen: inout [Bool], clusters: Int) {
        var next = 0
        while chosen.count < clusters {
            while isChosen[next] { next += 1 }
            chosen.append(next)
            isChosen[next] = true
        }
    }

    /// The first `i` with `prefix[i] > target` (so `i` is drawn with probability ∝ its weight);
    /// weights of zero are never drawn.
    static func firstIndex(in prefix: [Double], above target: Double) -> Int {
        var low = 0, high = prefix.count - 1
        while low < high {
            let mid = (low + high) / 2
            if prefix[mid] > target { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// `‖a − b‖²` accumulated in Double.
    private static func squaredDistance(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ d: Int) -> Double {
        var sum = 0.0
        for j in 0..<d {
            let diff = Double(a[j]) - Double(b[j])
            sum += diff * diff
        }
        return sum
    }
}
