import DMLNumerics
import DMLNetworks
import DMLDistributed

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
/// Batch normalization is the exception: with local statistics each rank normalizes its rows by
/// their own mean and variance; `SynchronizedBatchStatistics` makes them global.
public struct DataParallelStep {
    /// The ranks taking part.
    public let communicator: any Communicator
    /// `B`, the rows of a global batch.
    public let globalBatch: Int

    /// The step for a global batch of `globalBatch` rows; throws unless the ranks divide it.
    public init(communicator: any Communicator, globalBatch: Int) throws {
        guard globalBatch % communicator.size == 0 else {
            throw TrainingError.invalidOption(
                name: "batch", value: "\(globalBatch) rows on \(communicator.size) processes",
                expected: "a batch size (classesPerBatch × samplesPerClass) divisible by the number of processes")
        }
        self.communicator = communicator
        self.globalBatch = globalBatch
    }

    /// Rows `[r·B/N, (r+1)·B/N)` of the global batch, owned by this rank.
    public var rows: Range<Int> { communicator.slice(ofCount: globalBatch) }

    /// Whether there is more than one rank (otherwise every method below is the identity).
    public var isDistributed: Bool { communicator.size > 1 }

    /// `[X_0; …; X_{N−1}]`: this rank's `B/N × d` embeddings gathered with every other rank's.
    public func gatherEmbeddings(_ local: Matrix<Float>) throws -> Matrix<Float> {
        guard isDistributed else { return local }
        let all = try communicator.allGather(local.elements)
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
        try communicator.allReduceSum(&packed)
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
    /// all-reduce: with local batch normalization each rank's running statistics follow its own
    /// rows, and averaging them after every step keeps the ranks' models identical (every rank
    /// then embeds its shard of the held-out split with the same network).
    public func averageBuffers(of model: some Layer<Float>) throws {
        guard isDistributed else { return }
        var packed = [Float]()
        model.visitBuffers { _, value in packed.append(contentsOf: value.elements) }
        guard !packed.isEmpty else { return }
        try communicator.allReduceSum(&packed)
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
