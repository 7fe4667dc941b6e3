/// The metrics of one evaluation. It encodes to one flat JSON object with the keys of the
/// `eval` records of `log.jsonl` (docs/RUN_DIRECTORY.md): `recall@K` for every K, `map@r`,
/// `r_precision`, `nmi`, `f1` (`null` without clustering), then `queries`, `references`,
/// `evaluated_queries`, `excluded_queries`, `metric`, `clusters`, `kmeans_iterations`,
/// `kmeans_converged`, `kmeans_objective` (the final k-means objective `Σ ‖x − c‖²`,
/// scikit-learn's `inertia_`), `search_seconds`, `clustering_seconds`.
public struct EvaluationResult: Sendable, Equatable, Codable {
    /// Recall@K, MAP@R and R-precision (see `RetrievalScores` for the definitions).
    public var retrieval: RetrievalScores
    /// NMI and pair-counting F1 of the k-means clustering; `nil` when clustering was off.
    public var clustering: ClusteringScores?
    /// The number of queries.
    public var queries: Int
    /// The number of references (equal to `queries` in leave-one-out mode).
    public var references: Int
    /// The metric used for retrieval.
    public var metric: DistanceMetric
    /// The number of k-means clusters, when clustering ran.
    public var clusters: Int?
    /// The k-means assignment steps run, when clustering ran.
    public var kMeansIterations: Int?
    /// Whether k-means met its tolerance before the iteration cap, when clustering ran.
    public var kMeansConverged: Bool?
    /// The final k-means objective `Σ_i ‖x_i − c_{a(i)}‖²` (scikit-learn's `inertia_`), when
    /// clustering ran.
    public var kMeansObjective: Double?
    /// Wall-clock seconds of the neighbour search and retrieval metrics.
    public var searchSeconds: Double
    /// Wall-clock seconds of k-means, NMI and F1 (0 without clustering).
    public var clusteringSeconds: Double
    /// The k-means cluster of every clustered row (not encoded: it is data, not a metric).
    public var clusterAssignments: [Int]?

    /// Recall@K for a given K, if it was computed.
    public func recall(at k: Int) -> Double? { retrieval.recallAtK.first { $0.k == k }?.value }

    /// A JSON key, any string.
    struct Key: CodingKey {
        let stringValue: String
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// The metric values keyed as in the JSON (`MetricKey`): `recall@K` for every K, `map@r`,
    /// `r_precision`, and `nmi`, `f1` when clustering ran — what `log.jsonl`'s `eval` records
    /// and `metrics.json` hold.
    public var metricValues: [String: Double] {
        var out = [String: Double]()
        for recall in retrieval.recallAtK { out[MetricKey.recall(recall.k)] = recall.value }
        out[MetricKey.mapAtR] = retrieval.mapAtR
        out[MetricKey.rPrecision] = retrieval.rPrecision
        if let clustering {
            out[MetricKey.nmi] = clustering.nmi
            out[MetricKey.f1] = clustering.f1
        }
        return out
    }

    /// Encodes the flat object described on the type.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for recall in retrieval.recallAtK { try c.encode(recall.value, forKey: Key(MetricKey.recall(recall.k))) }
        try c.encode(retrieval.mapAtR, forKey: Key(MetricKey.mapAtR))
        try c.encode(retrieval.rPrecision, forKey: Key(MetricKey.rPrecision))
        try c.encode(clustering?.nmi, forKey: Key(MetricKey.nmi))
        try c.encode(clustering?.f1, forKey: Key(MetricKey.f1))
        try c.encode(queries, forKey: Key("queries"))
        try c.encode(references, forKey: Key("references"))
        try c.encode(retrieval.evaluatedQueries, forKey: Key("evaluated_queries"))
        try c.encode(retrieval.excludedQueries, forKey: Key("excluded_queries"))
        try c.encode(metric, forKey: Key("metric"))
        try c.encode(clusters, forKey: Key("clusters"))
        try c.encode(kMeansIterations, forKey: Key("kmeans_iterations"))
        try c.encode(kMeansConverged, forKey: Key("kmeans_converged"))
        try c.encode(kMeansObjective, forKey: Key("kmeans_objective"))
        try c.encode(searchSeconds, forKey: Key("search_seconds"))
        try c.encode(clusteringSeconds, forKey: Key("clustering_seconds"))
    }

    /// Decodes the flat object; keys other than those listed on the type are ignored. Pair-counting
    /// precision and recall are not stored and decode as 0.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let recalls = try c.allKeys.compactMap { key -> RetrievalScores.RecallValue? in
            guard let k = MetricKey.recallK(key.stringValue) else { return nil }
            return RetrievalScores.RecallValue(k: k, value: try c.decode(Double.self, forKey: key))
        }.sorted { $0.k < $1.k }
        retrieval = RetrievalScores(
            recallAtK: recalls, mapAtR: try c.decode(Double.self, forKey: Key(MetricKey.mapAtR)),
            rPrecision: try c.decode(Double.self, forKey: Key(MetricKey.rPrecision)),
            evaluatedQueries: try c.decodeIfPresent(Int.self, forKey: Key("evaluated_queries")) ?? 0,
            excludedQueries: try c.decodeIfPresent(Int.self, forKey: Key("excluded_queries")) ?? 0)
        if let nmi = try c.decodeIfPresent(Double.self, forKey: Key(MetricKey.nmi)),
           let f1 = try c.decodeIfPresent(Double.self, forKey: Key(MetricKey.f1)) {
            clustering = ClusteringScores(nmi: nmi, f1: f1, precision: 0, recall: 0)
        }
        queries = try c.decodeIfPresent(Int.self, forKey: Key("queries")) ?? 0
        references = try c.decodeIfPresent(Int.self, forKey: Key("references")) ?? 0
        metric = try c.decodeIfPresent(DistanceMetric.self, forKey: Key("metric")) ?? .euclidean
        clusters = try c.decodeIfPresent(Int.self, forKey: Key("clusters"))
        kMeansIterations = try c.decodeIfPresent(Int.self, forKey: Key("kmeans_iterations"))
        kMeansConverged = try c.decodeIfPresent(Bool.self, forKey: Key("kmeans_converged"))
        kMeansObjective = try c.decodeIfPresent(Double.self, forKey: Key("kmeans_objective"))
        searchSeconds = try c.decodeIfPresent(Double.self, forKey: Key("search_seconds")) ?? 0
        clusteringSeconds = try c.decodeIfPresent(Double.self, forKey: Key("clustering_seconds")) ?? 0
    }

    /// A result from its parts.
    public init(retrieval: RetrievalScores, clustering: ClusteringScores?, queries: Int, references: Int,
                metric: DistanceMetric, clusters: Int?, kMeansIterations: Int?, kMeansConverged: Bool?,
                kMeansObjective: Double? = nil, searchSeconds: Double, clusteringSeconds: Double, clusterAssignments: [Int]?) {
        self.kMeansObjective = kMeansObjective
        self.retrieval = retrieval
        self.clustering = clustering
        self.queries = queries
        self.references = references
        self.metric = metric
        self.clusters = clusters
        self.kMeansIterations = kMeansIterations
        self.kMeansConverged = kMeansConverged
        self.searchSeconds = searchSeconds
        self.clusteringSeconds = clusteringSeconds
        self.clusterAssignments = clusterAssignments
    }
}
