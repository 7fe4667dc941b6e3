import DMLNumerics

/// Draws class-balanced batches: `C` classes × `K` samples per class, the batch layout of
/// metric learning (the papers use 64 × 2 = 128).
///
/// Every batch holds `C` distinct classes and, for each, `K` distinct samples (no
/// replacement inside a batch), laid out class-major: the `K` samples of the first class,
/// then those of the second, … — the order `adjacent` pairing relies on.
///
/// Classes and samples are drawn from shuffled queues that are refilled (reshuffled) when
/// they run out, so over many batches every eligible class and every sample is visited
/// evenly. Only classes with at least `K` samples are eligible. The whole state is a value
/// (`Codable`), so a checkpoint restores the exact same future batches.
public struct ClassBalancedSampler: Sendable, Codable, Equatable {
    /// `C`, the classes per batch.
    public let classesPerBatch: Int
    /// `K`, the samples per class.
    public let samplesPerClass: Int
    /// Sample indices of each eligible class.
    private let members: [[Int]]
    /// The class labels matching `members`.
    private let classLabels: [Int]
    private var classQueue: [Int] = []
    private var sampleQueues: [[Int]]
    private var rng: SeededGenerator

    /// The number of samples in one batch, `C · K`.
    public var batchSize: Int { classesPerBatch * samplesPerClass }

    /// A sampler over the given per-sample labels.
    ///
    /// - Throws: `TrainingError.notEnoughClasses` when fewer than `C` classes have `K` samples.
    public init(labels: [Int], classesPerBatch: Int, samplesPerClass: Int, seed: UInt64) throws {
        guard classesPerBatch >= 1, samplesPerClass >= 1 else {
            throw TrainingError.invalidOption(name: "batch layout", value: "\(classesPerBatch)×\(samplesPerClass)",
                                              expected: "at least 1 class and 1 sample per class")
        }
        var byClass = [Int: [Int]]()
        for (i, y) in labels.enumerated() { byClass[y, default: []].append(i) }
        let eligible = byClass.keys.sorted().filter { byClass[$0]!.count >= samplesPerClass }
        guard eligible.count >= classesPerBatch else {
            throw TrainingError.notEnoughClasses(needed: classesPerBatch, samplesPerClass: samplesPerClass,
                                                 available: eligible.count)
        }
        self.classesPerBatch = classesPerBatch
        self.samplesPerClass = samplesPerClass
        self.classLabels = eligible
        self.members = eligible.map { byClass[$0]! }
        self.sampleQueues = Array(repeating: [], count: eligible.count)
        self.rng = SeededGenerator(seed: seed, stream: 0x5A4D_504C)
    }

    /// The sample indices of the next batch, class-major.
    public mutating func nextBatch() -> [Int] {
        var chosen = [Int]()
        chosen.reserveCapacity(classesPerBatch)
        var taken = Set<Int>()
        while chosen.count < classesPerBatch {
            if classQueue.isEmpty { classQueue = rng.shuffled(0..<members.count) }
            let c = classQueue.removeLast()
            if taken.insert(c).inserted {
                chosen.append(c)
            } else {
                // The queue was refilled mid-batch and handed back a class already in this batch:
                // keep it for a later batch.
                classQueue.insert(c, at: 0)
            }
        }
        var batch = [Int]()
        batch.reserveCapacity(batchSize)
        for c in chosen { batch.append(contentsOf: nextSamples(ofClass: c)) }
        return batch
    }

    /// `K` distinct samples of class slot `c`, drawn from its queue.
    private mutating func nextSamples(ofClass c: Int) -> [Int] {
        var picked = [Int]()
        picked.reserveCapacity(samplesPerClass)
        while picked.count < samplesPerClass {
            if sampleQueues[c].isEmpty { sampleQueues[c] = rng.shuffled(members[c]) }
            let i = sampleQueues[c].removeLast()
            if picked.contains(i) {
                sampleQueues[c].insert(i, at: 0)
            } else {
                picked.append(i)
            }
        }
        return picked
    }

    /// Whether the state is one `init` and `nextBatch` can produce: at least `C` classes of at
    /// least `K` non-negative sample indices each, class and sample queues that only hold
    /// those classes and samples. A decoded (possibly edited) sampler that is not well formed
    /// would loop or index out of range, so checkpoints check it.
    public var isWellFormed: Bool {
        guard classesPerBatch >= 1, samplesPerClass >= 1, members.count >= classesPerBatch,
              classLabels.count == members.count, sampleQueues.count == members.count,
              classQueue.allSatisfy({ (0..<members.count).contains($0) }) else { return false }
        for (c, m) in members.enumerated() {
            guard m.count >= samplesPerClass, m.allSatisfy({ $0 >= 0 }), Set(m).count == m.count else { return false }
            let allowed = Set(m)
            guard sampleQueues[c].allSatisfy({ allowed.contains($0) }) else { return false }
        }
        return true
    }

    /// Whether `other` draws from the same classes and samples (its queues and generator may
    /// be at another point of the stream): how a resumed run checks that a checkpoint's
    /// sampler belongs to the training split it is given.
    public func drawsFromSameItems(as other: ClassBalancedSampler) -> Bool {
        classesPerBatch == other.classesPerBatch && samplesPerClass == other.samplesPerClass
            && members == other.members && classLabels == other.classLabels
    }

    /// The number of eligible classes (those with at least `K` samples).
    public var eligibleClassCount: Int { members.count }
}

extension ClassBalancedSampler: IteratorProtocol {
    /// The next batch; the stream never ends.
    public mutating func next() -> [Int]? { nextBatch() }
}
