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

    /// Defaults: seed 0, at most 100 iterations, tolerance 1e-4, 1024-point blocks, seeding
    /// batches of 256 centres, the machine's cores (`ThreadBudget.availableCores`).
    public init(seed: UInt64 = 0, maxIterations: Int = 100, tolerance: Double = 1e-4,
                pointBlockSize: Int = 1024, seedingBatch: Int = 256, threads: Int = ThreadBudget.availableCores) {
        self.seed = seed
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.pointBlockSize = pointBlockSize
        self.seedingBatch = seedingBatch
        self.threads = threads
    }

    func validate() throws {
        let checks: [(String, Bool, String)] = [
            ("maxIterations", maxIterations >= 1, "\(maxIterations)"),
            ("tolerance", tolerance >= 0 && tolerance.isFinite, "\(tolerance)"),
            ("pointBlockSize", pointBlockSize >= 1, "\(pointBlockSize)"),
            ("seedingBatch", seedingBatch >= 1, "\(seedingBatch)"),
            ("threads", threads >= 1, "\(threads)"),
        ]
        for (name, valid, value) in checks where !valid {
            throw EvaluationError.invalidOption(name: "k-means \(name)", reason: "must be positive (tolerance: non-negative), got \(value)")
        }
    }
}
