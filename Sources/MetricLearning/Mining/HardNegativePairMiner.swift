import DMLNumerics

/// Hard negative pair mining over an augmented set (§5 of the spec), by two segmented
/// reductions of the full `N × N` distance (or similarity) matrix — never by enumerating the
/// pairs of every set:
/// 1. per point `p` and class `c`: `e(p, c) = min_{n ∈ class c} D_pn` with its arg-min `n`
///    (one pass over row `p`, `O(N²)` in all);
/// 2. per mining set `s` and class `c`: `d⁻(s, c) = min_{p ∈ s} e(p, c)` with its arg-min `p`
///    (`O(Σ|s| · C)`).
/// Both keep the first minimum in ascending index order, so ties go to the lowest `p`, then the
/// lowest `n` — the same pair a brute-force enumeration (`p` ascending, `n` ascending, strict `<`)
/// finds. By similarity, `min D` becomes `max S` with the same tie rule.
public enum HardNegativePairMiner {
    /// `d⁻(s, c) = min_{p ∈ s, n ∈ class c} D_pn` for every set `s` (the groups of `batch` by
    /// default) and class `c ≠ class(s)`.
    ///
    /// - Precondition: `geometry` is that of `batch.points`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func hardestByDistance<T: BLASScalar>(
        _ geometry: PairwiseDistances<T>, batch: AugmentedBatch<T>, sets: MiningSets? = nil
    ) -> HardNegativePairs<T> {
        hardest(geometry.distances, sign: 1, batch: batch, sets: sets ?? .groups(of: batch))
    }

    /// `s⁺(s, c) = max_{p ∈ s, n ∈ class c} S_pn` with `S = G` (the Gram matrix; the cosine
    /// similarity for normalized points) for every set `s` (the groups of `batch` by default)
    /// and class `c ≠ class(s)`.
    ///
    /// - Precondition: `geometry` is that of `batch.points`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func hardestBySimilarity<T: BLASScalar>(
        _ geometry: PairwiseDistances<T>, batch: AugmentedBatch<T>, sets: MiningSets? = nil
    ) -> HardNegativePairs<T> {
        hardest(geometry.gram, sign: -1, batch: batch, sets: sets ?? .groups(of: batch))
    }

    /// The two segmented reductions, minimizing `sign · M_pn`, over `matrix` (`A × R`: the `A`
    /// points of `batch` against the `R` reference columns of `columnLabels`, the points
    /// themselves then any memory points; `nil` labels: `R = A`, the batch's own labels).
    /// Memory columns count as originals of their class (never synthetic).
    /// With `sampling`, each set mines only its kept negative classes (`NegativeClassSampling`);
    /// the others get no pair (`groupPoint` −1, so `isNegative` is false). With a `pool`, the
    /// points of step 1 are split over its workers (each writes its own rows: the result does
    /// not depend on the thread count).
    static func hardest<T: BLASScalar>(
        _ matrix: Matrix<T>, sign: T, batch: AugmentedBatch<T>, sets: MiningSets, columnLabels: [Int]? = nil,
        sampling: NegativeClassSampling? = nil, pool: ThreadPool? = nil
    ) -> HardNegativePairs<T> {
        let n = batch.points.rows
        let labels = columnLabels ?? batch.labels
        let r = labels.count
        precondition(matrix.rows == n && matrix.columns == r, "the geometry must be that of the augmented set")
        let columns = ClassColumns(labels: labels)
        let classCount = columns.count
        // 1. Per point × class.
        var pointBest = [T](repeating: .infinity, count: n * classCount)
        var pointArg = [Int](repeating: -1, count: n * classCount)
        // The columns grouped by class (a counting sort, ascending column inside a class), so
        // each class's minimum is a reduction in registers over its own columns — the same
        // first minimum in ascending column order as one scan of the row, without a scattered
        // store per entry. Rows are independent: split over the pool (each worker writes its
        // own rows).
        var classStart = [Int](repeating: 0, count: classCount + 1)
        for c in columns.column { classStart[c + 1] += 1 }
        for c in 0..<classCount { classStart[c + 1] += classStart[c] }
        var byClass = [Int32](repeating: 0, count: r)
        do {
            var next = classStart
            for (q, c) in columns.column.enumerated() {
                byClass[next[c]] = Int32(truncatingIfNeeded: q)
                next[c] += 1
            }
        }
        matrix.withUnsafeBufferPointer { pm in
            byClass.withUnsafeBufferPointer { order in
                classStart.withUnsafeBufferPointer { start in
                    pointBest.withUnsafeMutableBufferPointer { pb in
                        pointArg.withUnsafeMutableBufferPointer { pa in
                            let bestOut = SendablePointer(pb.baseAddress!), argOut = SendablePointer(pa.baseAddress!)
                            let own = columns.column
                            ReferenceGeometry<T>.splitRows(n, pool: pool) { points in
                                for p in points {
                                    let row = pm.baseAddress! + p * r
                                    let best = bestOut.pointer + p * classCount, arg = argOut.pointer + p * classCount
                                    for c in 0..<classCount {
                                        var bestValue = T.infinity, bestColumn = -1
                                        // Branch-free: which column lowers the minimum is
                                        // data-dependent (a mispredicted branch per class).
                                        for j in start[c]..<start[c + 1] {
                                            let q = Int(order[j])
                                            let v = sign * row[q]
                                            let take = v < bestValue ? -1 : 0
                                            bestValue = v < bestValue ? v : bestValue
                                            bestColumn = (q & take) | (bestColumn & ~take)
                                        }
                                        best[c] = bestValue
                                        arg[c] = bestColumn
                                    }
                                    // The own class is never chosen.
                                    best[own[p]] = .infinity
                                    arg[own[p]] = -1
                                }
                            }
                        }
                    }
                }
            }
        }
        // 2. Per set × class.
        let setCount = sets.count
        var value = Matrix<T>(rows: setCount, columns: classCount)
        var groupPoint = [Int](repeating: -1, count: setCount * classCount)
        var classPoint = [Int](repeating: -1, count: setCount * classCount)
        var ownColumn = [Int](repeating: 0, count: setCount)
        var setBest = [T](repeating: .infinity, count: classCount)
        let classOfLabel = Dictionary(uniqueKeysWithValues: columns.classes.enumerated().map { ($1, $0) })
        for s in 0..<setCount { ownColumn[s] = classOfLabel[sets.labels[s]]! }
        let kept = sampling?.keptColumns(ownColumns: ownColumn, classCount: classCount)
        groupPoint.withUnsafeMutableBufferPointer { groupBuffer in
            classPoint.withUnsafeMutableBufferPointer { classBuffer in
                setBest.withUnsafeMutableBufferPointer { setBest in
                    let groupOut = SendablePointer(groupBuffer.baseAddress!), classOut = SendablePointer(classBuffer.baseAddress!)
                    value.withUnsafeMutableBufferPointer { pv in
                        pointBest.withUnsafeBufferPointer { pb in
                            pointArg.withUnsafeBufferPointer { pa in
                                sets.members.withUnsafeBufferPointer { members in
                                    for s in 0..<setCount {
                                        let own = ownColumn[s]
                                        let base = s * classCount
                                        if let kept {
                                            // Only the kept classes: Σ|s|·m work instead of Σ|s|·C.
                                            let chosen = kept.columns[kept.offsets[s]..<kept.offsets[s + 1]]
                                            for c in chosen { setBest[c] = .infinity }
                                            for m in sets.offsets[s]..<sets.offsets[s + 1] {
                                                let p = members[m]
                                                let row = p * classCount
                                                for c in chosen where pb[row + c] < setBest[c] {
                                                    setBest[c] = pb[row + c]
                                                    groupOut.pointer[base + c] = p
                                                    classOut.pointer[base + c] = pa[row + c]
                                                }
                                            }
                                            for c in chosen { pv[base + c] = sign * setBest[c] }
                                            continue
                                        }
                                        // The first member's row, then a branch-free select per further
                                        // member (strictly smaller wins: ties keep the lower member).
                                        let gp = groupOut.pointer + base, cp = classOut.pointer + base
                                        let start = sets.offsets[s], end = sets.offsets[s + 1]
                                        guard start < end else { continue }
                                        let first = members[start], firstRow = first * classCount
                                        for c in 0..<classCount {
                                            setBest[c] = pb[firstRow + c]
                                            gp[c] = first
                                            cp[c] = pa[firstRow + c]
                                        }
                                        for m in (start + 1)..<end {
                                            let p = members[m]
                                            let row = p * classCount
                                            for c in 0..<classCount {
                                                let v = pb[row + c], current = setBest[c]
                                                let take = v < current ? -1 : 0
                                                setBest[c] = Swift.min(v, current)
                                                gp[c] = (p & take) | (gp[c] & ~take)
                                                cp[c] = (pa[row + c] & take) | (cp[c] & ~take)
                                            }
                                        }
                                        for c in 0..<classCount where c != own { pv[base + c] = sign * setBest[c] }
                                        gp[own] = -1
                                        cp[own] = -1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let isSynthetic = r == n ? batch.isSynthetic : batch.isSynthetic + repeatElement(false, count: r - n)
        return HardNegativePairs(classes: columns.classes, value: value, groupPoint: groupPoint,
                                 classPoint: classPoint, ownColumn: ownColumn, isSynthetic: isSynthetic)
    }

    /// `d⁻(s, c)` over a batch and a memory: `min_{p ∈ s, n ∈ class c} D_pn`, where "class c"
    /// is its batch originals, its synthetic points and its memory points (`geometry` is that
    /// of `batch.points` against themselves and the memory; the group members `p` are always
    /// points of the batch). Without memory it equals `hardestByDistance`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func hardestByDistance<T: BLASScalar>(
        _ geometry: ReferenceGeometry<T>, batch: AugmentedBatch<T>, memoryLabels: [Int], sets: MiningSets,
        sampling: NegativeClassSampling? = nil
    ) -> HardNegativePairs<T> {
        hardest(geometry.distances, sign: 1, batch: batch, sets: sets,
                columnLabels: memoryLabels.isEmpty ? nil : batch.labels + memoryLabels, sampling: sampling, pool: geometry.pool)
    }

    /// `s⁺(s, c) = max_{p ∈ s, n ∈ class c} G_pn` over a batch and a memory (see
    /// `hardestByDistance(_:batch:memoryLabels:sets:)`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func hardestBySimilarity<T: BLASScalar>(
        _ geometry: ReferenceGeometry<T>, batch: AugmentedBatch<T>, memoryLabels: [Int], sets: MiningSets,
        sampling: NegativeClassSampling? = nil
    ) -> HardNegativePairs<T> {
        hardest(geometry.gram, sign: -1, batch: batch, sets: sets,
                columnLabels: memoryLabels.isEmpty ? nil : batch.labels + memoryLabels, sampling: sampling, pool: geometry.pool)
    }
}
