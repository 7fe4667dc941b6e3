/// Everything `evaluate` needs besides the data. Defaults follow the DML papers.
public struct EvaluationOptions: Sendable, Codable, Equatable {
    /// The recall cut-offs of the CUB-200 / CARS196 papers.
    public static let standardRecallKs = [1, 2, 4, 8]
    /// The recall cut-offs used for Stanford Online Products.
    public static let onlineProductsRecallKs = [1, 10, 100, 1000]

    /// Euclidean or cosine distance for the retrieval metrics (k-means is always Euclidean):
    /// the neighbour search's own setting, `search.metric`, under the name an evaluation uses.
    public var metric: DistanceMetric {
        get { search.metric }
        set { search.metric = newValue }
    }
    /// The Ks of Recall@K, reported in this order.
    public var recallKs: [Int]
    /// Whether to run k-means and report NMI and F1.
    public var clustering: Bool
    /// The number of k-means clusters; `nil` means the number of distinct labels of the
    /// clustered set.
    public var clusters: Int?
    /// k-means settings (seed, iteration cap, tolerance, blocking).
    public var kMeans: KMeansOptions
    /// Nearest-neighbour search: its metric (`metric`), blocking and threads. Assigning a whole
    /// `search` sets the metric too (the two are one value).
    public var search: NeighbourSearchOptions

    /// Defaults: Euclidean, Recall@{1, 2, 4, 8}, clustering on with K = number of classes,
    /// default k-means and search settings. `metric` is stored in the search options (it
    /// replaces `search.metric`).
    public init(metric: DistanceMetric = .euclidean, recallKs: [Int] = EvaluationOptions.standardRecallKs,
                clustering: Bool = true, clusters: Int? = nil, kMeans: KMeansOptions = KMeansOptions(),
                search: NeighbourSearchOptions = NeighbourSearchOptions()) {
        self.recallKs = recallKs
        self.clustering = clustering
        self.clusters = clusters
        self.kMeans = kMeans
        self.search = search
        self.search.metric = metric
    }

    /// The seed of the only random step (k-means++ seeding).
    public var seed: UInt64 {
        get { kMeans.seed }
        set { kMeans.seed = newValue }
    }
}
