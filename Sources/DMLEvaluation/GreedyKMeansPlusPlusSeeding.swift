import DMLNumerics

/// Greedy k-means++ seeding, as scikit-learn's `_kmeans_plusplus` (and Arthur & Vassilvitskii's
/// §6 variant): the first centre is a uniformly random point; for every next centre, `L`
/// candidates are drawn independently with probability `D(i)² / Σ_j D(j)²` (`D(i)` the distance
/// from point `i` to its nearest centre so far), and the candidate that leaves the smallest
/// potential `φ = Σ_i min(D(i)², ‖x_i − x_candidate‖²)` is kept. scikit-learn uses
/// `L = 2 + ⌊ln K⌋`. It costs one `N × L × d` GEMM per centre (against the exact sampler's
/// one `N × K × d` GEMM in all), and reaches a lower objective after Lloyd's iterations.
///
/// Deterministic: the candidates' distances come from `SquaredDistanceBlocks` (one GEMM per
/// block of points, rows written by disjoint points), and every potential is summed in point
/// order in Double. If every remaining `D²` is zero (fewer distinct points than `K`), the
/// remaining centres are the lowest-index points not yet chosen.
struct GreedyKMeansPlusPlusSeeding<T: BLASScalar> {
    let points: Matrix<T>
    let distances: SquaredDistanceBlocks<T>
    /// `L`, the candidates per centre.
    let candidates: Int

    /// scikit-learn's `L = 2 + ⌊ln K⌋`.
    static func defaultCandidates(clusters: Int) -> Int {
        // ⌊ln K⌋: the largest m with e^m ≤ K.
        var power = 2.718281828459045, m = 0
        while power <= Double(clusters) {
            power *= 2.718281828459045
            m += 1
        }
        return 2 + m
    }

    /// The indices of the `clusters` points chosen as initial centres, in the order chosen.
    func chooseCentres(clusters: Int, generator: inout SeededGenerator) -> [Int] {
        let n = points.rows, d = points.columns, l = Swift.max(1, candidates)
        var chosen = [Int]()
        chosen.reserveCapacity(clusters)
        var isChosen = [Bool](repeating: false, count: n)
        let first = generator.nextInt(below: n)
        chosen.append(first)
        isChosen[first] = true
        // D(i)², and the trial distances min(D(i)², ‖x_i − candidate_c‖²), point-major.
        var closest = [Double](repeating: 0, count: n)
        var trial = [Double](repeating: 0, count: n * l)
        var prefix = [Double](repeating: 0, count: n)
        var candidateRows = Matrix<T>(rows: l, columns: d)

        // Distances to the first centre.
        let firstRow = points.gatheringRows([first])
        closest.withUnsafeMutableBufferPointer { cp in
            let shared = SharedPointer(base: cp.baseAddress!)
            firstRow.withUnsafeBufferPointer { fp in
                distances.forEachPoint(centres: fp.baseAddress!, count: 1) { i, row, _ in shared.base[i] = Double(row[0]) }
            }
        }
        closest[first] = 0

        while chosen.count < clusters {
            var running = 0.0
            for i in 0..<n {
                running += closest[i]
                prefix[i] = running
            }
            let potential = running
            guard potential > 0 else { break }
            var ids = [Int](repeating: 0, count: l)
            for c in 0..<l {
                ids[c] = KMeansPlusPlusSeeding<T>.firstIndex(in: prefix, above: generator.nextUniform() * potential)
                candidateRows.setRow(c, points.row(ids[c]))
            }
            closest.withUnsafeBufferPointer { cp in
                trial.withUnsafeMutableBufferPointer { tp in
                    let out = SharedPointer(base: tp.baseAddress!)
                    let current = cp.baseAddress!
                    candidateRows.withUnsafeBufferPointer { rp in
                        distances.forEachPoint(centres: rp.baseAddress!, count: l) { i, row, _ in
                            let base = out.base + i * l
                            for c in 0..<l { base[c] = Swift.min(current[i], Double(row[c])) }
                        }
                    }
                }
            }
            // A candidate's own distance is exactly zero (the GEMM leaves rounding there).
            for c in 0..<l {
                for c2 in 0..<l where ids[c2] == ids[c] { trial[ids[c] * l + c2] = 0 }
            }
            var best = 0, bestPotential = Double.infinity
            trial.withUnsafeBufferPointer { tp in
                for c in 0..<l {
                    var sum = 0.0
                    for i in 0..<n { sum += tp[i * l + c] }
                    if sum < bestPotential {
                        bestPotential = sum
                        best = c
                    }
                }
            }
            let id = ids[best]
            guard !isChosen[id] else { break }  // only when every candidate sits on a centre (potential ≈ 0)
            chosen.append(id)
            isChosen[id] = true
            for i in 0..<n { closest[i] = trial[i * l + best] }
        }
        KMeansPlusPlusSeeding<T>.complete(&chosen, isChosen: &isChosen, clusters: clusters)
        return chosen
    }
}
