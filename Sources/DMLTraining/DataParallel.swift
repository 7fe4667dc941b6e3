import Foundation
import DMLNumerics
import DMLNetworks
import DMLDistributed
import DMLRunDirectory

/// The data-parallel parts of a training step over a `Communicator` (SPEC §9).
///
/// With `N` ranks and a global `C × K` batch of `B` rows (`B` divisible by `N`), rank `r` owns
/// rows `R_r = [r·B/N, (r+1)·B/N)`:
///
/// 1. it loads and augments only `R_r` (each row with the generator of its global position),
///    and runs the network forward on them: `X_r = f_θ(x_{R_r})`;
/// 2. `gatherEmbeddings` all-gathers `X = [X_0; …; X_{N−1}]` (`B × d`), so the loss, hard negative
///    pair mining and synthesis see exactly the batch a single process would;
/// 3. every rank evaluates `L(X)` and `G = ∂L/∂X` identically, and backpropagates its rows
///    `G_{R_r}` (`localRows`), which gives `∂L/∂θ|_r = Σ_{i∈R_r} (∂x_i/∂θ)ᵀ G_i`;
/// 4. `allReduceGradients` sums these in one fused all-reduce, `∂L/∂θ = Σ_r ∂L/∂θ|_r` — the full
///    gradient, not an average: there is no division by `N`, because `L` is already the global
///    batch's loss;
/// 5. every rank takes the same optimizer step.
///
/// The loss is therefore the single-process loss up to the rounding of the gradient sum (the
/// per-rank partial GEMMs add in a different order than one GEMM over the whole batch).
/// Batch normalization needs one more thing: in `.sync` mode (`attach(to:)` hands the model's
/// batch-norm layers a `SynchronizedBatchStatistics`) every layer normalizes with the statistics
/// of the global batch and sums its backward reductions over the ranks, so the equality holds
/// for networks with batch norm too; in `.local` mode each rank normalizes its rows by their own
/// statistics and `averageBuffers` averages the running statistics after the step.
///
/// The wall time of every collective is added to `times` (see `CollectiveTimes`).
public struct DataParallelStep {
    /// The ranks taking part.
    public let communicator: any Communicator
    /// `B`, the rows of a global batch.
    public let globalBatch: Int
    /// Where batch normalization's training statistics come from.
    public let batchNorm: BatchNormMode
    /// The time spent in the collectives so far.
    public let times = CollectiveTimes()
    /// The batch-norm synchronizer of `.sync` mode over several ranks (nil otherwise).
    public let batchStatistics: SynchronizedBatchStatistics?

    /// The step for a global batch of `globalBatch` rows; throws unless the ranks divide it.
    public init(communicator: any Communicator, globalBatch: Int, batchNorm: BatchNormMode = .sync) throws {
        guard globalBatch % communicator.size == 0 else {
            throw TrainingError.invalidOption(
                name: "batch", value: "\(globalBatch) rows on \(communicator.size) processes",
                expected: "a batch size (classesPerBatch × samplesPerClass) divisible by the number of processes")
        }
        self.communicator = communicator
        self.globalBatch = globalBatch
        self.batchNorm = batchNorm
        batchStatistics = communicator.size > 1 && batchNorm == .sync
            ? SynchronizedBatchStatistics(communicator: communicator, times: times) : nil
    }

    /// Hands the synchronizer of `.sync` mode to every batch-norm layer of `model` (nothing with
    /// one rank or in `.local` mode).
    public func attach(to model: some Layer<Float>) {
        if let batchStatistics { model.synchronizeBatchNorm(with: batchStatistics) }
    }

    /// Throws the first error a batch-norm collective met during the last pass, if any (the
    /// layers cannot throw, so the synchronizer keeps it; see `SynchronizedBatchStatistics`).
    public func checkBatchNormCollectives() throws {
        try batchStatistics?.throwFailure()
    }

    /// Rows `[r·B/N, (r+1)·B/N)` of the global batch, owned by this rank.
    public var rows: Range<Int> { communicator.slice(ofCount: globalBatch) }

    /// Whether there is more than one rank (otherwise every method below is the identity).
    public var isDistributed: Bool { communicator.size > 1 }

    /// `[X_0; …; X_{N−1}]`: this rank's `B/N × d` embeddings gathered with every other rank's.
    public func gatherEmbeddings(_ local: Matrix<Float>) throws -> Matrix<Float> {
        guard isDistributed else { return local }
        let start = MonotonicClock.seconds()
        let all = try communicator.allGather(local.elements)
        times.embeddingGather += MonotonicClock.seconds() - start
        return Matrix(rows: globalBatch, columns: local.columns, elements: all)
    }

    /// `G_{R_r}`: this rank's rows of the global `B × d` gradient.
    public func localRows(of gradient: Matrix<Float>) -> Matrix<Float> {
        guard isDistributed else { return gradient }
        let r = rows, d = gradient.columns
        return Matrix(rows: r.count, columns: d, elements: Array(gradient.elements[(r.lowerBound * d)..<(r.upperBound * d)]))
    }

    /// `∂L/∂θ ← Σ_r ∂L/∂θ|_r` for every parameter of `model`, in one all-reduce of all the
    /// gradients packed into one buffer (in `visitParameters` order, which every rank shares).
    /// Frozen parameters take no part (their gradients are not computed).
    public func allReduceGradients(of model: some Layer<Float>) throws {
        guard isDistributed else { return }
        var total = 0
        model.visitTrainableParameters { _, _, gradient in total += gradient.count }
        var packed = [Float]()
        packed.reserveCapacity(total)
        model.visitTrainableParameters { _, _, gradient in packed.append(contentsOf: gradient.elements) }
        let start = MonotonicClock.seconds()
        try communicator.allReduceSum(&packed)
        times.gradientReduce += MonotonicClock.seconds() - start
        var offset = 0
        model.visitTrainableParameters { _, _, gradient in
            let n = gradient.count
            gradient.withUnsafeMutableBufferPointer { g in
                packed.withUnsafeBufferPointer { p in
                    g.baseAddress!.update(from: p.baseAddress! + offset, count: n)
                }
            }
            offset += n
        }
    }

    /// `b ← (1/N) Σ_r b^(r)` for every buffer of `model` (batch-norm running statistics), in one
    /// all-reduce, in `.local` mode: each rank's running statistics follow its own rows, and
    /// averaging them after every step keeps the ranks' models identical (every rank then embeds
    /// its shard of the held-out split with the same network). In `.sync` mode the running
    /// statistics follow the global batch and are already bit-identical on every rank: nothing
    /// to do.
    public func averageBuffers(of model: some Layer<Float>) throws {
        guard isDistributed, batchNorm == .local else { return }
        var packed = [Float]()
        model.visitBuffers { _, value in packed.append(contentsOf: value.elements) }
        guard !packed.isEmpty else { return }
        let start = MonotonicClock.seconds()
        try communicator.allReduceSum(&packed)
        times.gradientReduce += MonotonicClock.seconds() - start
        let scale = 1 / Float(communicator.size)
        var offset = 0
        model.visitBuffers { _, value in
            let n = value.count
            value.withUnsafeMutableBufferPointer { b in
                for i in 0..<n { b[i] = packed[offset + i] * scale }
            }
            offset += n
        }
    }
}

/// Wall time spent in the collectives of data-parallel steps, in seconds, accumulated since the
/// last `reset()`. A collective's time includes the wait for the slowest rank to arrive, so on
/// a loaded machine it measures imbalance as well as transfer.
public final class CollectiveTimes {
    /// The all-gather of the embeddings (`B × d` floats).
    public var embeddingGather = 0.0
    /// The fused all-reduce of the parameter gradients (and, in `.local` batch-norm mode, the
    /// all-reduce of the running statistics).
    public var gradientReduce = 0.0
    /// The batch-norm collectives of `.sync` mode: one gather per layer in the forward pass, one
    /// sum per layer in the backward pass.
    public var batchNorm = 0.0
    /// The number of batch-norm collectives counted in `batchNorm`.
    public var batchNormCalls = 0

    /// Zero times.
    public init() {}

    /// Sets every time and count to 0.
    public func reset() {
        (embeddingGather, gradientReduce, batchNorm, batchNormCalls) = (0, 0, 0, 0)
    }
}

extension CollectiveStepSeconds {
    /// The accumulated `times` divided by `steps`: the per-step means a `step` record holds.
    public init(_ times: CollectiveTimes, steps: Int) {
        let n = Double(Swift.max(steps, 1))
        self.init(embeddingGather: times.embeddingGather / n, gradientReduce: times.gradientReduce / n,
                  batchNorm: times.batchNorm / n)
    }
}

/// Synchronized batch normalization over a `Communicator`: the `BatchStatisticsSynchronizer`
/// the trainer hands to every batch-norm layer in `.sync` mode. `gather` is `allGather`, `sum`
/// is `allReduceSum`, both on `Double`s (a layer of `C` channels gathers `2C + 1` values per
/// rank in the forward pass and sums `2C` in the backward pass).
///
/// The layers cannot throw, so a failed collective is kept (`failure`), the layer gets its own
/// values back (local statistics for the rest of the pass, no further collective), and the
/// trainer throws the failure after the pass (`throwFailure`), which ends the job.
public final class SynchronizedBatchStatistics: BatchStatisticsSynchronizer {
    /// The ranks.
    public let communicator: any Communicator
    /// Where the time of each collective is added.
    public let times: CollectiveTimes
    /// The first error a collective met since the last `throwFailure()`.
    public private(set) var failure: (any Error)?

    /// A synchronizer over `communicator`, timing into `times`.
    public init(communicator: any Communicator, times: CollectiveTimes = CollectiveTimes()) {
        self.communicator = communicator
        self.times = times
    }

    public func gather(_ local: [Double]) -> [Double] {
        guard failure == nil else { return local }
        let start = MonotonicClock.seconds()
        defer { record(since: start) }
        do { return try communicator.allGather(local) } catch {
            failure = error
            return local
        }
    }

    public func sum(_ buffer: inout [Double]) {
        guard failure == nil else { return }
        let start = MonotonicClock.seconds()
        defer { record(since: start) }
        let local = buffer
        do { try communicator.allReduceSum(&buffer) } catch {
            failure = error
            buffer = local
        }
    }

    /// Throws (and clears) the kept failure, if any.
    public func throwFailure() throws {
        guard let failure else { return }
        self.failure = nil
        throw failure
    }

    private func record(since start: Double) {
        times.batchNorm += MonotonicClock.seconds() - start
        times.batchNormCalls += 1
    }
}
