import DMLNumerics

/// A fixed, seeded sample of test queries with their nearest neighbours, for showing retrieval.
///
/// Squared Euclidean distances `‖q‖² + ‖x‖² − 2 q·x` (clamped at 0) from the sampled queries to
/// every item come from one GEMM (queries × all items); the query itself is excluded, and ties
/// are broken by the lower index.
public struct RetrievalSample: Sendable {
    /// One retrieved item.
    public struct Neighbour: Sendable, Equatable {
        /// Its row in the embedding matrix.
        public let index: Int
        /// Its label.
        public let label: Int
        /// Its Euclidean distance to the query.
        public let distance: Double
        /// Whether its label is the query's.
        public let isCorrect: Bool
    }

    /// One query with its neighbours, nearest first.
    public struct Query: Sendable, Equatable {
        /// The query's row in the embedding matrix.
        public let index: Int
        /// The query's label.
        public let label: Int
        /// The nearest items, nearest first.
        public let neighbours: [Neighbour]
    }

    /// The sampled queries, in increasing index order.
    public let queries: [Query]

    /// Samples `min(queryCount, N)` queries with `SeededGenerator(seed:)` (a Fisher–Yates
    /// shuffle of 0..<N, first entries) and finds each one's `neighbourCount` nearest other items.
    public init(embeddings: Matrix<Float>, labels: [Int], queryCount: Int = 16, neighbourCount: Int = 8, seed: UInt64 = 0) {
        precondition(labels.count == embeddings.rows, "one label per embedding")
        let n = embeddings.rows
        var generator = SeededGenerator(seed: seed)
        let chosen = Array(generator.shuffled(0..<n).prefix(max(0, queryCount))).sorted()
        guard !chosen.isEmpty else {
            queries = []
            return
        }
        let q = embeddings.gatheringRows(chosen)
        var products = Matrix<Float>(rows: chosen.count, columns: n)
        Matrix.gemm(q, embeddings, transB: .transpose, into: &products)
        let norms = embeddings.rowSquaredNorms()
        let k = min(neighbourCount, n - 1)
        var result = [Query]()
        products.withUnsafeBufferPointer { p in
            for (r, queryIndex) in chosen.enumerated() {
                // The k best (distance², index) pairs, kept sorted by insertion.
                var best = [(d2: Float, index: Int)]()
                best.reserveCapacity(k + 1)
                for j in 0..<n where j != queryIndex {
                    let d2 = max(0, norms[queryIndex] + norms[j] - 2 * p[r * n + j])
                    if best.count == k, let last = best.last, d2 >= last.d2 { continue }
                    var position = best.count
                    while position > 0, best[position - 1].d2 > d2 { position -= 1 }
                    best.insert((d2, j), at: position)
                    if best.count > k { best.removeLast() }
                }
                let label = labels[queryIndex]
                result.append(Query(index: queryIndex, label: label, neighbours: best.map {
                    Neighbour(index: $0.index, label: labels[$0.index], distance: Double($0.d2).squareRoot(),
                              isCorrect: labels[$0.index] == label)
                }))
            }
        }
        queries = result
    }
}
