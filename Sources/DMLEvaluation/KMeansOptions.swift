import DMLNumerics

/// Settings of `KMeans.run`. The number of clusters is an argument of `run` itself.
public struct KMeansOptions: Sendable, Codable, Equatable {
    /// Seed of the k-means++ seeding (the only random choice).
    public var seed: UInt64
    /// The largest number of assignment steps (Lloyd iterations).
    public var maxIterations: Int
    /// Stop when the objective falls by no more than `tolerance × objective` in one iteration
    /// (or no assignment changes).
    public var tolerance: Double
    /// Points per GEMM block in the assignment step, lowered for large K so one block's scores
    /// take at most 16 MiB of Float per worker (memory `pointBlockSize × K` scalars per worker).
    public var pointBlockSize: Int
    /// Centres chosen between two full distance refreshes in the k-means++ seeding (see
    /// `KMeansPlusPlusSeeding`); it changes the speed, not the distribution.
    public var seedingBatch: Int
    /// Threads of the pool `KMeans.run` creates when it is not given one (the GEMM blocks and
    /// the per-point work are split over them; BLAS is single-threaded inside). The result does
    /// not depend on it.
    public var threads: Int
    /// Candidates drawn per centre by the greedy k-means++ seeding, keeping the one that lowers
    /// the potential most (`GreedyKMeansPlusPlusSeeding`); 0 means automatic: scikit-learn's
    /// `2 + ⌊ln K⌋` unless `N · K · d` exceeds `greedySeedingWorkLimit`, then 1; 1 is plain
    /// k-means++ (the exact sampler `KMeansPlusPlusSeeding`, much faster for very large `K`).
    public var seedingCandidates: Int

    /// Defaults: seed 0, at most 100 iterations, tolerance 1e-4, 1024-point blocks, seeding
    /// batches of 256 centres, the machine's cores (`ThreadBudget.availableCores`), greedy seeding
    /// with `2 + ⌊ln K⌋` candidates.
    public init(seed: UInt64 = 0, maxIterations: Int = 100, tolerance: Double = 1e-4,
                pointBlockSize: Int = 1024, seedingBatch: Int = 256, threads: Int = ThreadBudget.availableCores,
                seedingCandidates: Int = 0) {
        self.seedingCandidates = seedingCandidates
        self.seed = seed
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.pointBlockSize = pointBlockSize
        self.seedingBatch = seedingBatch
        self.threads = threads
    }

    enum CodingKeys: String, CodingKey {
        case seed, maxIterations, tolerance, pointBlockSize, seedingBatch, threads, seedingCandidates
    }

    /// Decodes the options; `seedingCandidates` may be absent (files written before it existed
    /// mean the default, 0).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(seed: try c.decode(UInt64.self, forKey: .seed), maxIterations: try c.decode(Int.self, forKey: .maxIterations),
                  tolerance: try c.decode(Double.self, forKey: .tolerance),
                  pointBlockSize: try c.decode(Int.self, forKey: .pointBlockSize),
                  seedingBatch: try c.decode(Int.self, forKey: .seedingBatch), threads: try c.decode(Int.self, forKey: .threads),
                  seedingCandidates: try c.decodeIfPresent(Int.self, forKey: .seedingCandidates) ?? 0)
    }

    /// The largest `N · K · d` for which the automatic choice (`seedingCandidates = 0`) is the
    /// greedy seeding: it reads all `N × d` points once per centre, so beyond this (about
    /// 137 GB of memory traffic in float32; Stanford Online Products' 60,502 × 11,316 × 512 is
    /// 10× more) the automatic choice is the exact plain k-means++ sampler.
    public static let greedySeedingWorkLimit = 1 << 35

    /// The candidates per centre for `clusters` clusters of `points` points of dimension `d`:
    /// `seedingCandidates`, or automatically `2 + ⌊ln K⌋` (1 above `greedySeedingWorkLimit`).
    func candidates(clusters: Int, points: Int, dimension: Int) -> Int {
        if seedingCandidates > 0 { return seedingCandidates }
        let (pk, o1) = points.multipliedReportingOverflow(by: clusters)
        let (work, o2) = pk.multipliedReportingOverflow(by: Swift.max(dimension, 1))
        if o1 || o2 || work > Self.greedySeedingWorkLimit { return 1 }
        return GreedyKMeansPlusPlusSeeding<Double>.defaultCandidates(clusters: clusters)
    }

    func validate() throws {
        let checks: [(String, Bool, String)] = [
            ("maxIterations", maxIterations >= 1, "\(maxIterations)"),
            ("tolerance", tolerance >= 0 && tolerance.isFinite, "\(tolerance)"),
            ("pointBlockSize", pointBlockSize >= 1, "\(pointBlockSize)"),
            ("seedingBatch", seedingBatch >= 1, "\(seedingBatch)"),
            ("threads", threads >= 1, "\(threads)"),
            ("seedingCandidates", seedingCandidates >= 0 && seedingCandidates <= 1024, "\(seedingCandidates)"),
        ]
        for (name, valid, value) in checks where !valid {
            throw EvaluationError.invalidOption(name: "k-means \(name)", reason: "must be positive (tolerance: non-negative), got \(value)")
        }
    }
}
