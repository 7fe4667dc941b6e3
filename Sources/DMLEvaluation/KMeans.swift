import DMLNumerics

/// The outcome of `KMeans.run`.
public struct KMeansResult<T: BLASScalar>: Sendable, Equatable {
    /// The cluster of every point, in `0..<K`.
    public let assignments: [Int]
    /// The `K × d` centres the final assignment was made against.
    public let centres: Matrix<T>
    /// The objective `Σ_i ‖x_i − c_{a(i)}‖²` (in Double) after each assignment step; it never
    /// increases (up to the rounding of the GEMM that ranks centres).
    public let objectiveHistory: [Double]
    /// Whether it stopped by the tolerance (or unchanged assignments) rather than the cap.
    public let converged: Bool
    /// How many times an empty cluster was re-seeded.
    public let reseededClusters: Int

    /// The number of assignment steps run.
    public var iterations: Int { objectiveHistory.count }

    /// The final objective (scikit-learn's `inertia_`): `Σ_i ‖x_i − c_{a(i)}‖²` of the returned
    /// assignment and centres.
    public var objective: Double { objectiveHistory.last ?? 0 }
}

/// Lloyd's k-means with k-means++ seeding.
///
/// 1. Seeding: greedy k-means++ (`GreedyKMeansPlusPlusSeeding`, scikit-learn's: `2 + ⌊ln K⌋`
///    candidates per centre, the best kept), or with `seedingCandidates = 1` plain k-means++
///    (`KMeansPlusPlusSeeding`, the exact law), seeded either way.
/// 2. Assignment: every point goes to its nearest centre, ties to the lower centre index; the
///    distances come from blocked GEMM (`SquaredDistanceBlocks`), never an `N × K` matrix.
/// 3. Update: every centre becomes the mean of its points (sums in Double). An empty cluster is
///    re-seeded with the point farthest from its own centre (ties: lower index) among clusters
///    that keep at least one point, and that point is taken out of its old cluster's mean.
///    This keeps the objective from increasing.
/// 4. Stop after an assignment step when no assignment changed, when the objective fell by no
///    more than `tolerance × previous objective`, or after `maxIterations` steps.
public enum KMeans {
    /// Clusters the rows of `points` into `clusters` groups.
    ///
    /// Throws when `points` is empty or non-finite, `clusters` is not in `1...points.rows`, or an
    /// option is out of range.
    public static func run<T: BLASScalar>(_ points: Matrix<T>, clusters: Int,
                                          options: KMeansOptions = KMeansOptions()) throws -> KMeansResult<T> {
        try options.validate()
        return try run(points, clusters: clusters, options: options, pool: ThreadPool(threads: options.threads))
    }

    /// `run` on the workers of `pool` (`options.threads` is then not used). The result does not
    /// depend on the pool's size: the GEMM blocks, the per-point work and the centre sums are
    /// split in ways that do not change any number.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func run<T: BLASScalar>(_ points: Matrix<T>, clusters: Int, options: KMeansOptions,
                                          pool: ThreadPool) throws -> KMeansResult<T> {
        try options.validate()
        try InputValidation.checkEmbeddings(points, name: "embeddings")
        guard clusters >= 1, clusters <= points.rows else {
            throw EvaluationError.invalidOption(name: "clusters", reason: "expected 1...\(points.rows) (the number of points), got \(clusters)")
        }
        return runValidated(points, clusters: clusters, options: options, pool: pool)
    }

    /// `run` on inputs already checked (finite, `1 ≤ clusters ≤ rows`, valid options).
    static func runValidated<T: BLASScalar>(_ points: Matrix<T>, clusters: Int, options: KMeansOptions,
                                            pool: ThreadPool) -> KMeansResult<T> {
        let n = points.rows
        let blocks = SquaredDistanceBlocks(points: points, blockSize: options.pointBlockSize, pool: pool)
        var generator = SeededGenerator(seed: options.seed)
        let candidates = options.candidates(clusters: clusters, points: n, dimension: points.columns)
        let seeds = candidates == 1
            ? KMeansPlusPlusSeeding(points: points, distances: blocks, batch: options.seedingBatch)
                .chooseCentres(clusters: clusters, generator: &generator)
            : GreedyKMeansPlusPlusSeeding(points: points, distances: blocks, candidates: candidates)
                .chooseCentres(clusters: clusters, generator: &generator)
        var centres = points.gatheringRows(seeds)
        var assignments = [Int](repeating: -1, count: n)
        var pointCosts = [Double](repeating: 0, count: n)
        var history = [Double]()
        var converged = false
        var reseeded = 0
        while history.count < options.maxIterations {
            let changed = assign(points, centres: centres, blocks: blocks,
                                 assignments: &assignments, costs: &pointCosts)
            let objective = pointCosts.reduce(0, +)
            if let previous = history.last, !changed || previous - objective <= options.tolerance * previous {
                history.append(objective)
                converged = true
                break
            }
            history.append(objective)
            if history.count == options.maxIterations { break }
            reseeded += update(points, assignments: assignments, costs: pointCosts, centres: &centres, pool: pool)
        }
        return KMeansResult(assignments: assignments, centres: centres, objectiveHistory: history,
                            converged: converged, reseededClusters: reseeded)
    }

    /// Assigns every point to its nearest centre and stores its exact squared distance (Double)
    /// in `costs`. Returns whether any assignment changed.
    static func assign<T: BLASScalar>(_ points: Matrix<T>, centres: Matrix<T>, blocks: SquaredDistanceBlocks<T>,
                                      assignments: inout [Int], costs: inout [Double]) -> Bool {
        let n = points.rows, d = points.columns, k = centres.rows
        var changedFlags = [Bool](repeating: false, count: n)
        assignments.withUnsafeMutableBufferPointer { ap in
            costs.withUnsafeMutableBufferPointer { cp in
                changedFlags.withUnsafeMutableBufferPointer { fp in
                    let assigned = SharedPointer(base: ap.baseAddress!), cost = SharedPointer(base: cp.baseAddress!)
                    let flags = SharedPointer(base: fp.baseAddress!)
                    points.withUnsafeBufferPointer { xp in
                        centres.withUnsafeBufferPointer { centresPointer in
                            let c = centresPointer.baseAddress!
                            blocks.forEachPoint(centres: c, count: k) { i, row, _ in
                                var best = 0
                                for j in 1..<Swift.max(k, 1) where row[j] < row[best] { best = j }
                                flags.base[i] = assigned.base[i] != best
                                assigned.base[i] = best
                                var sum = 0.0
                                let x = xp.baseAddress! + i * d, centre = c + best * d
                                for j in 0..<d {
                                    let diff = Double(x[j]) - Double(centre[j])
                                    sum += diff * diff
                                }
                                cost.base[i] = sum
                            }
                        }
                    }
                }
            }
        }
        return changedFlags.contains(true)
    }

    /// Moves every centre to the mean of its points and re-seeds empty clusters; returns the
    /// number of clusters re-seeded. The sums are split by coordinate over the pool's workers:
    /// every sum still adds its points in index order, so the centres do not depend on the
    /// thread count.
    static func update<T: BLASScalar>(_ points: Matrix<T>, assignments: [Int], costs: [Double],
                                      centres: inout Matrix<T>, pool: ThreadPool) -> Int {
        let n = points.rows, d = points.columns, k = centres.rows
        var sums = [Double](repeating: 0, count: k * d)
        var counts = [Int](repeating: 0, count: k)
        for i in 0..<n { counts[assignments[i]] += 1 }
        points.withUnsafeBufferPointer { xp in
            assignments.withUnsafeBufferPointer { ap in
                sums.withUnsafeMutableBufferPointer { sp in
                    let shared = SharedPointer(base: sp.baseAddress!)
                    pool.parallelFor(count: d, minimumChunk: 16) { columns, _ in
                        for i in 0..<n {
                            let row = xp.baseAddress! + i * d, sum = shared.base + ap[i] * d
                            for j in columns { sum[j] += Double(row[j]) }
                        }
                    }
                }
            }
        }
        let empty = (0..<k).filter { counts[$0] == 0 }
        var relocated = [(cluster: Int, point: Int)]()
        if !empty.isEmpty {
            // Farthest points first; ties by lower index.
            let candidates = (0..<n).sorted { costs[$0] > costs[$1] || (costs[$0] == costs[$1] && $0 < $1) }
            var next = 0
            for cluster in empty {
                while next < n, counts[assignments[candidates[next]]] <= 1 { next += 1 }
                guard next < n else { break }
                let point = candidates[next]
                next += 1
                let old = assignments[point]
                counts[old] -= 1
                points.withUnsafeBufferPointer { xp in
                    for j in 0..<d { sums[old * d + j] -= Double(xp[point * d + j]) }
                }
                relocated.append((cluster, point))
            }
        }
        centres.withUnsafeMutableBufferPointer { cp in
            for c in 0..<k where counts[c] > 0 {
                let scale = 1 / Double(counts[c])
                for j in 0..<d { cp[c * d + j] = T(sums[c * d + j] * scale) }
            }
        }
        for (cluster, point) in relocated {
            centres.setRow(cluster, points.row(point))
        }
        return relocated.count
    }
}
