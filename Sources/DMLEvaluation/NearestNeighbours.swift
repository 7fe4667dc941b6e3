import DMLNumerics

/// The `k` nearest references of every query, nearest first, from an exact blocked search
/// (`BlockedNeighbourSearch`: blocked GEMM plus a partial top-K per query; never an `N × N`
/// matrix). Equal distances are ordered by the lower reference index.
public struct NearestNeighbours<T: BLASScalar>: Sendable, Equatable {
    /// The number of queries.
    public let queryCount: Int
    /// Neighbours per query.
    public let k: Int
    /// `queryCount × k` reference indices, row-major: `indices[q * k + j]` is the `j`-th nearest
    /// reference of query `q` (`j = 0` the nearest).
    public let indices: [Int]
    /// The matching distances (Euclidean `‖q − r‖`, or cosine `1 − cos(q, r)`), non-decreasing
    /// along each row.
    public let distances: [T]

    /// The neighbour indices of query `q`, nearest first.
    public func indices(ofQuery q: Int) -> ArraySlice<Int> { indices[(q * k)..<((q + 1) * k)] }

    /// The neighbour distances of query `q`, nearest first.
    public func distances(ofQuery q: Int) -> ArraySlice<T> { distances[(q * k)..<((q + 1) * k)] }

    /// The `k` nearest rows of `references` for every row of `queries`, on the workers of `pool`
    /// (nil: a pool of `options.threads` threads for this call). The result does not depend on
    /// the number of threads.
    ///
    /// Throws when an input is empty or non-finite, the dimensions differ, a row has zero length
    /// under the cosine metric, or `k` is not in `1...references.rows`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func search(queries: Matrix<T>, references: Matrix<T>, k: Int,
                              options: NeighbourSearchOptions = NeighbourSearchOptions(),
                              pool: ThreadPool? = nil) throws -> NearestNeighbours {
        try InputValidation.checkEmbeddings(queries, name: "query embeddings")
        try InputValidation.checkEmbeddings(references, name: "reference embeddings")
        guard queries.columns == references.columns else {
            throw EvaluationError.dimensionMismatch(queries: queries.columns, references: references.columns)
        }
        let search = try BlockedNeighbourSearch(queries: queries, references: references, k: k, options: options)
        return collect(search, pool: pool ?? ThreadPool(threads: options.threads))
    }

    /// Leave-one-out search: every row of `embeddings` is a query against all the *other* rows
    /// (the query itself is excluded by index). `k` must be in `1...(rows − 1)`. Threads as `search`.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func leaveOneOut(_ embeddings: Matrix<T>, k: Int,
                                   options: NeighbourSearchOptions = NeighbourSearchOptions(),
                                   pool: ThreadPool? = nil) throws -> NearestNeighbours {
        try InputValidation.checkEmbeddings(embeddings, name: "embeddings")
        let search = try BlockedNeighbourSearch(queries: embeddings, references: nil, k: k, options: options)
        return collect(search, pool: pool ?? ThreadPool(threads: options.threads))
    }

    private static func collect(_ search: BlockedNeighbourSearch<T>, pool: ThreadPool) -> NearestNeighbours {
        var indices = [Int](), distances = [T]()
        indices.reserveCapacity(search.queries.rows * search.k)
        distances.reserveCapacity(search.queries.rows * search.k)
        search.forEachBlock(pool: pool) { block in
            for row in 0..<block.queryCount {
                indices.append(contentsOf: block.neighbours(ofRow: row))
                distances.append(contentsOf: block.distances(ofRow: row))
            }
        }
        return NearestNeighbours(queryCount: search.queries.rows, k: search.k, indices: indices, distances: distances)
    }
}
