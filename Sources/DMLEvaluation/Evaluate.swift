import DMLNumerics
import Dispatch

/// Leave-one-out evaluation: every row of `embeddings` is a query against all other rows
/// (Recall@K, MAP@R, R-precision), and k-means on all rows gives NMI and F1.
///
/// Throws `EvaluationError` for empty or non-finite embeddings, a label count different from
/// the row count, a K larger than `rows − 1`, no query with a same-class item, or options out
/// of range. Queries of singleton classes are excluded from the retrieval averages (see
/// `RetrievalScores`).
///
/// The search and k-means run on the workers of `pool` (nil: a pool of `options.search.threads`
/// threads for this call), with BLAS single-threaded inside them; the result does not depend
/// on the number of threads.
public func evaluate(embeddings: Matrix<Float>, labels: [Int],
                     options: EvaluationOptions = EvaluationOptions(), pool: ThreadPool? = nil) throws -> EvaluationResult {
    try InputValidation.checkEmbeddings(embeddings, name: "embeddings")
    try InputValidation.checkLabels(labels, rows: embeddings.rows, name: "labels")
    return try Evaluation.run(queries: embeddings, queryLabels: labels, references: nil, referenceLabels: labels,
                              options: options, pool: pool)
}

/// Evaluation with separate sets: every row of `queries` is ranked against all rows of
/// `references` (Recall@K, MAP@R, R-precision with `R` = references of the query's class);
/// k-means runs on the queries for NMI and F1 (as pytorch-metric-learning does).
///
/// Throws as the leave-one-out variant, and when the two dimensions differ or K exceeds the
/// number of references.
public func evaluate(queries: Matrix<Float>, queryLabels: [Int], references: Matrix<Float>, referenceLabels: [Int],
                     options: EvaluationOptions = EvaluationOptions(), pool: ThreadPool? = nil) throws -> EvaluationResult {
    try InputValidation.checkEmbeddings(queries, name: "query embeddings")
    try InputValidation.checkLabels(queryLabels, rows: queries.rows, name: "query labels")
    try InputValidation.checkEmbeddings(references, name: "reference embeddings")
    try InputValidation.checkLabels(referenceLabels, rows: references.rows, name: "reference labels")
    guard queries.columns == references.columns else {
        throw EvaluationError.dimensionMismatch(queries: queries.columns, references: references.columns)
    }
    return try Evaluation.run(queries: queries, queryLabels: queryLabels, references: references,
                              referenceLabels: referenceLabels, options: options, pool: pool)
}

/// The shared body of both `evaluate` functions (inputs already validated).
package enum Evaluation {
    static func run(queries: Matrix<Float>, queryLabels: [Int], references: Matrix<Float>?, referenceLabels: [Int],
                    options: EvaluationOptions, pool given: ThreadPool?) throws -> EvaluationResult {
        let referenceCount = references?.rows ?? queries.rows
        let leaveOneOut = references == nil
        var searchOptions = options.search
        searchOptions.metric = options.metric
        var accumulator = try RetrievalAccumulator(referenceLabels: referenceLabels, recallKs: options.recallKs,
                                                   leaveOneOut: leaveOneOut)
        let available = BlockedNeighbourSearch<Float>.rankableReferences(references: referenceCount, leaveOneOut: leaveOneOut)
        if let largest = options.recallKs.max(), largest > available {
            throw EvaluationError.tooFewReferences(needed: largest, available: available, reason: "Recall@\(largest)")
        }
        let depth = accumulator.depthNeeded(queryLabels: queryLabels)
        let clusters = options.clusters ?? Set(queryLabels).count
        if options.clustering { try options.kMeans.validate() }
        if options.clustering, !(1...queries.rows).contains(clusters) {
            throw EvaluationError.invalidOption(name: "clusters", reason: "expected 1...\(queries.rows) (the number of clustered rows), got \(clusters)")
        }

        let pool = given ?? ThreadPool(threads: options.search.threads)
        let searchStart = DispatchTime.now()
        let search = try BlockedNeighbourSearch(queries: queries, references: references, k: depth, options: searchOptions)
        // MAP@R and R-precision need the first R_q neighbours in order; Recall@K only the rank of
        // the first relevant one, which the accumulator finds without sorting the rest.
        let sortedPrefix = Swift.max(1, accumulator.largestRelevantCount(queryLabels: queryLabels))
        search.forEachBlock(pool: pool, sortedPrefix: sortedPrefix) { block in
            for row in 0..<block.queryCount {
                accumulator.add(label: queryLabels[block.firstQuery + row], neighbours: block.neighbours(ofRow: row),
                                distances: block.distances(ofRow: row), sortedCount: block.sortedCount)
            }
        }
        let retrieval = try accumulator.scores()
        let searchSeconds = seconds(since: searchStart)

        guard options.clustering else {
            return EvaluationResult(retrieval: retrieval, clustering: nil, queries: queries.rows, references: referenceCount,
                                    metric: options.metric, clusters: nil, kMeansIterations: nil, kMeansConverged: nil,
                                    searchSeconds: searchSeconds, clusteringSeconds: 0, clusterAssignments: nil)
        }
        let clusteringStart = DispatchTime.now()
        let kMeans = KMeans.runValidated(queries, clusters: clusters, options: options.kMeans, pool: pool)
        let scores = try ClusteringScores.compute(clusters: kMeans.assignments, classes: queryLabels)
        return EvaluationResult(retrieval: retrieval, clustering: scores, queries: queries.rows, references: referenceCount,
                                metric: options.metric, clusters: clusters, kMeansIterations: kMeans.iterations,
                                kMeansConverged: kMeans.converged, kMeansObjective: kMeans.objective, searchSeconds: searchSeconds,
                                clusteringSeconds: seconds(since: clusteringStart), clusterAssignments: kMeans.assignments)
    }

    /// Wall-clock seconds since `start`.
    package static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
