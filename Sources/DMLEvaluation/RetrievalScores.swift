import DMLNumerics

/// Retrieval metrics over a set of queries, each from its ranked neighbour list.
///
/// For a query `q` with label `y_q`, let `R_q` be the number of references of class `y_q` other
/// than `q` itself (the relevant references), and `rel(i) = 1` when the `i`-th nearest reference
/// (`i = 1, 2, …`) has label `y_q`.
///
/// - **Recall@K** (Song et al. 2016, the DML convention; it is a hit rate, not the IR recall):
///   `1` if `rel(i) = 1` for some `i ≤ K`, else `0`; averaged over queries.
/// - **R-precision** (Musgrave et al. 2020): `(1/R_q) Σ_{i ≤ R_q} rel(i)`, averaged over queries.
/// - **MAP@R** (Musgrave et al. 2020): `(1/R_q) Σ_{i ≤ R_q} P(i)·rel(i)` with `P(i)` the precision
///   among the first `i` neighbours; averaged over queries.
///
/// Queries with `R_q = 0` (a class with one item in leave-one-out, or a class absent from the
/// references) have no relevant reference: every metric above is undefined for them, so they
/// are excluded from all averages (as in pytorch-metric-learning) and counted in
/// `excludedQueries`.
public struct RetrievalScores: Sendable, Equatable, Codable {
    /// `(K, Recall@K)` in the order the Ks were given.
    public var recallAtK: [RecallValue]
    /// Mean average precision at R.
    public var mapAtR: Double
    /// Mean R-precision.
    public var rPrecision: Double
    /// Queries that entered the averages.
    public var evaluatedQueries: Int
    /// Queries left out because they have no relevant reference (`R_q = 0`).
    public var excludedQueries: Int

    /// One Recall@K value.
    public struct RecallValue: Sendable, Equatable, Codable {
        /// The cut-off `K`.
        public var k: Int
        /// The fraction of evaluated queries with a same-class reference among their `K` nearest.
        public var value: Double
    }

    /// The scores of the queries described by `neighbours` (from `NearestNeighbours.search` or
    /// `.leaveOneOut`, with `leaveOneOut` saying which). `neighbours.k` must be at least the
    /// largest K and the largest `R_q`.
    public static func compute<T>(neighbours: NearestNeighbours<T>, queryLabels: [Int], referenceLabels: [Int],
                                  recallKs: [Int], leaveOneOut: Bool) throws -> RetrievalScores {
        try InputValidation.checkLabels(queryLabels, rows: neighbours.queryCount, name: "query labels")
        var accumulator = try RetrievalAccumulator(referenceLabels: referenceLabels, recallKs: recallKs,
                                                   leaveOneOut: leaveOneOut)
        try accumulator.requireDepth(neighbours.k, queryLabels: queryLabels)
        let k = neighbours.k
        neighbours.indices.withUnsafeBufferPointer { p in
            neighbours.distances.withUnsafeBufferPointer { d in
                for q in 0..<neighbours.queryCount {
                    accumulator.add(label: queryLabels[q], neighbours: UnsafeBufferPointer(rebasing: p[(q * k)..<((q + 1) * k)]),
                                    distances: UnsafeBufferPointer(rebasing: d[(q * k)..<((q + 1) * k)]), sortedCount: k)
                }
            }
        }
        return try accumulator.scores()
    }
}

/// Sums the per-query retrieval metrics of `RetrievalScores` one query at a time, so a blocked
/// search can stream its results and never hold every neighbour list.
struct RetrievalAccumulator {
    let referenceLabels: [Int]
    let recallKs: [Int]
    let leaveOneOut: Bool
    /// Label → number of references with it.
    let referenceCounts: [Int: Int]
    private var hits: [Int]
    private var averagePrecisionSum = 0.0
    private var rPrecisionSum = 0.0
    private var evaluated = 0
    private var excluded = 0

    init(referenceLabels: [Int], recallKs: [Int], leaveOneOut: Bool) throws {
        guard !recallKs.isEmpty, recallKs.allSatisfy({ $0 >= 1 }), Set(recallKs).count == recallKs.count else {
            throw EvaluationError.invalidOption(name: "recall Ks", reason: "expected a non-empty list of distinct positive integers, got \(recallKs)")
        }
        self.referenceLabels = referenceLabels
        self.recallKs = recallKs
        self.leaveOneOut = leaveOneOut
        self.referenceCounts = referenceLabels.reduce(into: [:]) { $0[$1, default: 0] += 1 }
        self.hits = [Int](repeating: 0, count: recallKs.count)
    }

    /// `R_q`: the relevant references of a query with this label.
    func relevantCount(label: Int) -> Int {
        Swift.max(0, (referenceCounts[label] ?? 0) - (leaveOneOut ? 1 : 0))
    }

    /// The neighbours each query needs: the largest K and the largest `R_q`.
    func depthNeeded(queryLabels: [Int]) -> Int {
        Swift.max(recallKs.max() ?? 1, largestRelevantCount(queryLabels: queryLabels))
    }

    /// Throws unless `depth` neighbours per query suffice.
    func requireDepth(_ depth: Int, queryLabels: [Int]) throws {
        let needed = depthNeeded(queryLabels: queryLabels)
        guard depth >= needed else {
            throw EvaluationError.tooFewReferences(needed: needed, available: depth, reason: "Recall@K and MAP@R")
        }
    }

    /// The largest `R_q` over these labels: how many leading neighbours must be in order.
    func largestRelevantCount(queryLabels: [Int]) -> Int {
        Set(queryLabels).map { relevantCount(label: $0) }.max() ?? 0
    }

    /// Adds one query with label `label` and its `k` nearest neighbours with their distances,
    /// of which the first `sortedCount` (at least `R_q`) are in order, nearest first, and the
    /// rest are unordered.
    mutating func add<T: BinaryFloatingPoint>(label: Int, neighbours: UnsafeBufferPointer<Int>,
                                              distances: UnsafeBufferPointer<T>, sortedCount: Int) {
        let relevant = relevantCount(label: label)
        guard relevant > 0 else {
            excluded += 1
            return
        }
        evaluated += 1
        let firstHit = firstRelevantRank(label: label, neighbours: neighbours, distances: distances, sortedCount: sortedCount)
        for (slot, k) in recallKs.enumerated() where firstHit < k { hits[slot] += 1 }
        var found = 0
        var precisionSum = 0.0
        for i in 0..<relevant where referenceLabels[neighbours[i]] == label {
            found += 1
            precisionSum += Double(found) / Double(i + 1)
        }
        averagePrecisionSum += precisionSum / Double(relevant)
        rPrecisionSum += Double(found) / Double(relevant)
    }

    /// The 0-based rank of the nearest relevant neighbour (`Int.max` if none is among them),
    /// ordering by (distance, index): a scan of the sorted prefix, else the best relevant
    /// neighbour of the unordered rest ranked by counting the neighbours before it.
    private func firstRelevantRank<T: BinaryFloatingPoint>(label: Int, neighbours: UnsafeBufferPointer<Int>,
                                                           distances: UnsafeBufferPointer<T>, sortedCount: Int) -> Int {
        let prefix = Swift.min(sortedCount, neighbours.count)
        for i in 0..<prefix where referenceLabels[neighbours[i]] == label { return i }
        func precedes(_ a: Int, _ b: Int) -> Bool {
            distances[a] < distances[b] || (distances[a] == distances[b] && neighbours[a] < neighbours[b])
        }
        var best = -1
        for i in prefix..<neighbours.count where referenceLabels[neighbours[i]] == label {
            if best < 0 || precedes(i, best) { best = i }
        }
        guard best >= 0 else { return Int.max }
        var rank = prefix
        for i in prefix..<neighbours.count where precedes(i, best) { rank += 1 }
        return rank
    }

    /// The averages; throws when no query had a relevant reference.
    func scores() throws -> RetrievalScores {
        guard evaluated > 0 else { throw EvaluationError.noRelevantReferences }
        let n = Double(evaluated)
        return RetrievalScores(
            recallAtK: zip(recallKs, hits).map { RetrievalScores.RecallValue(k: $0, value: Double($1) / n) },
            mapAtR: averagePrecisionSum / n, rPrecision: rPrecisionSum / n,
            evaluatedQueries: evaluated, excludedQueries: excluded)
    }
}
