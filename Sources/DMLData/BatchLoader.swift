import DMLNumerics
import Foundation

/// One batch made by a `BatchLoader`.
public struct LoadedBatch: Sendable {
    /// The iteration number (0, 1, 2, … from `firstIteration`), which seeded the augmentation.
    public let iteration: Int
    /// The item indices, in row order.
    public let indices: [Int]
    /// The samples (CHW rows) of `indices[rows]`: every index unless the loader was given a row
    /// range (a data-parallel rank's share).
    public let samples: Matrix<Float>
    /// The labels of the rows.
    public let labels: [Int]
}

/// Decodes and augments batches on background threads, a bounded number of batches ahead of the
/// trainer.
///
/// The index lists come from `indices` (a sampler), drawn in order under a lock, so batch `t` is
/// always the `t`-th list; its rows are `split.batch(indices, mode:, seed:, iteration: t)`, whose
/// augmentation depends only on (seed, t, row). The batches are therefore identical for any number
/// of workers and any thread timing. `next()` returns them in order, waiting if needed; the time
/// spent waiting is in `waitingSeconds`.
public final class BatchLoader: Sendable {
    private let state: LoaderState

    /// Starts `workers` threads that prepare up to `prefetch` batches ahead. Iteration numbers start
    /// at `firstIteration` (to resume a run). With `rows`, only rows `rows` of each index list are
    /// loaded (augmented as at their positions in the whole list); the list must be long enough.
    public init(split: any DatasetSplit, mode: AugmentationMode, seed: UInt64, indices: some IteratorProtocol<[Int]> & Sendable,
                workers: Int = 2, prefetch: Int = 4, firstIteration: Int = 0, rows: Range<Int>? = nil) {
        precondition(workers >= 1 && prefetch >= 1, "a loader needs at least one worker and one batch of prefetch")
        state = LoaderState(split: split, mode: mode, seed: seed, source: indices, prefetch: prefetch,
                            firstIteration: firstIteration, rows: rows)
        for k in 0..<workers {
            let state = self.state
            let thread = Thread { state.work() }
            thread.name = "dml-loader-\(k)"
            thread.start()
        }
    }

    /// The next batch in iteration order (waiting for it if it is not ready), nil when the index
    /// source has ended. A decoding error of that batch is rethrown here.
    public func next() throws -> LoadedBatch? { try state.next() }

    /// Total seconds `next()` has spent waiting for a batch that was not ready.
    public var waitingSeconds: Double { state.waited }

    /// Stops the workers (after their current batch). Called automatically when the loader is freed.
    public func stop() { state.stop() }

    deinit { state.stop() }
}

/// The state shared by a loader's workers and its consumer. Every stored property except the
/// immutable configuration is read and written only while holding `condition`.
private final class LoaderState: @unchecked Sendable {
    let split: any DatasetSplit
    let mode: AugmentationMode
    let seed: UInt64
    let prefetch: Int
    let rows: Range<Int>?
    let condition = NSCondition()
    var source: any IteratorProtocol<[Int]>
    var nextToSchedule: Int
    var nextToDeliver: Int
    var endIteration: Int?
    var results: [Int: Result<LoadedBatch, Error>] = [:]
    var stopped = false
    var waitedSeconds: Double = 0

    init(split: any DatasetSplit, mode: AugmentationMode, seed: UInt64, source: any IteratorProtocol<[Int]>, prefetch: Int, firstIteration: Int,
         rows: Range<Int>?) {
        self.split = split
        self.rows = rows
        self.mode = mode
        self.seed = seed
        self.source = source
        self.prefetch = prefetch
        self.nextToSchedule = firstIteration
        self.nextToDeliver = firstIteration
    }

    var waited: Double { condition.withLock { waitedSeconds } }

    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    /// A worker: take the next iteration's indices, build its batch outside the lock, publish it.
    func work() {
        condition.lock()
        while !stopped {
            guard endIteration == nil, nextToSchedule < nextToDeliver + prefetch else {
                condition.wait()
                continue
            }
            guard let indices = source.next() else {
                endIteration = nextToSchedule
                condition.broadcast()
                continue
            }
            let iteration = nextToSchedule
            nextToSchedule += 1
            condition.unlock()
            let rows = self.rows ?? 0..<indices.count
            let result = Result {
                guard rows.upperBound <= indices.count else {
                    throw DataError(file: "<loader>", "rows \(rows) outside a batch of \(indices.count)")
                }
                return LoadedBatch(iteration: iteration, indices: indices,
                                   samples: try split.batch(Array(indices[rows]), mode: mode, seed: seed,
                                                            iteration: iteration, firstPosition: rows.lowerBound),
                                   labels: split.labels(of: indices))
            }
            condition.lock()
            results[iteration] = result
            condition.broadcast()
        }
        condition.unlock()
    }

    func next() throws -> LoadedBatch? {
        condition.lock()
        defer { condition.unlock() }
        let start = DispatchTime.now().uptimeNanoseconds
        while results[nextToDeliver] == nil && !stopped && !(endIteration.map { nextToDeliver >= $0 } ?? false) {
            condition.wait()
        }
        waitedSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard let result = results.removeValue(forKey: nextToDeliver) else { return nil }
        nextToDeliver += 1
        condition.broadcast()
        return try result.get()
    }
}

/// An index source over a fixed list of batches (for evaluation passes, tests and benchmarks).
public struct BatchListIterator: IteratorProtocol, Sendable {
    private let batches: [[Int]]
    private var position = 0

    /// Yields `batches` in order.
    public init(_ batches: [[Int]]) { self.batches = batches }

    /// The next list, nil after the last.
    public mutating func next() -> [Int]? {
        guard position < batches.count else { return nil }
        defer { position += 1 }
        return batches[position]
    }

    /// `0..<count` in consecutive batches of `batchSize` (the last may be shorter).
    public static func sequential(count: Int, batchSize: Int) -> BatchListIterator {
        BatchListIterator(stride(from: 0, to: count, by: batchSize).map { Array($0..<min($0 + batchSize, count)) })
    }
}
