import DMLNumerics

/// `Conv2D`'s Winograd kernel: an ungrouped 3×3, stride-1 convolution computed by F(2×2, 3×3)
/// (`WinogradKernels`), forward and backward, on blocks of tiles.
///
/// **Forward**, per block of `T` tiles: the input transform `V` (`16 × C × T`), 16 GEMMs
/// `M_ξ = U_ξ · V_ξ` (`O × C · C × T`), the output transform `Y = Aᵀ M A + b` into the NCHW
/// output. `U = G g Gᵀ` (`16 × O × C`) is computed once per forward pass — and kept across
/// evaluation-mode passes while the weights' stamp (`ConvolutionWeightStamp`: the layer's
/// `parameterVersion`, or the generation of the weights with a batch norm folded in) is
/// unchanged, so no pass compares the weights themselves. An evaluation-mode step's output
/// pass (`ConvolutionEpilogue`: residual sum, activation) runs on each block's output rows
/// right after the output transform wrote them.
///
/// **Backward**, per block: `V` again (only for the weight gradient), `∂M = A ∂Y Aᵀ`,
/// `∂U_ξ += ∂M_ξ · V_ξᵀ` into the chunk's accumulator, `∂V_ξ = U_ξᵀ · ∂M_ξ`, and
/// `∂x += B ∂V Bᵀ` over the overlapping 4×4 patches; after its blocks each chunk of samples
/// turns its `∂U` into a weight-gradient partial `Gᵀ ∂U G` (chunk 0 straight into `∂W`), and
/// the partials are added in chunk order.
///
/// **Blocks.** A block is either whole samples (`⌊blockTiles / tiles per sample⌋` of them, at
/// least one) or, when one sample has at least `blockTiles` tiles, `⌊blockTiles / tiles per
/// row⌋` tile rows of one sample: large enough for efficient GEMMs, small enough that `V` and `M`
/// stay near the cache (`automaticBlockTiles`: they fit in about 1 MiB, a core's share of L2).
/// The samples are split into chunks claimed by the pool's threads as they come free
/// (`ThreadPool.parallelForBalanced`, BLAS single-threaded inside); each thread has its own
/// `V`, `M` and frame buffers, each chunk its own weight-gradient accumulator, and a chunk writes
/// only its samples' outputs and input gradients, so a given thread count gives the same numbers
/// run after run.
final class WinogradConvolution<Scalar: NetworkScalar> {
    /// The target number of tiles per block (see the type's description); nil:
    /// `automaticBlockTiles` for the layer.
    var blockTiles: Int?

    /// The bytes a thread's `V` and `M` of one block may take: about a core's share of L2
    /// (1.25 MiB per core on the machines measured), so the 16 GEMMs of a block and the
    /// transforms before and after them read and write cache rather than memory.
    static var blockBudgetBytes: Int { 1 << 20 }

    /// The tiles per block when none is set: the largest power of two `T` with
    /// `16·(C + O)·T` scalars (`V` and `M`) within `blockBudgetBytes`, clamped to `128…512`
    /// (fewer tiles make the GEMMs `O × C · C × T` too thin to run at speed). Float: 128 for
    /// 32 → 64 channels and wider, 256 for narrower layers. Measured (`dml bench conv`,
    /// docs/networks.md, "Winograd block size"): on the small CNN's 32 → 64, 14² layer 128
    /// tiles ran 1.3–1.5× faster than 512, on ResNet-18's layers within the noise of 512.
    static func automaticBlockTiles(channels c: Int, outputs o: Int) -> Int {
        let perTile = 16 * Swift.max(1, c + o) * MemoryLayout<Scalar>.stride
        var tiles = 128
        while tiles < 512 && 2 * tiles * perTile <= blockBudgetBytes { tiles *= 2 }
        return tiles
    }

    /// The tiles per block for a layer of `c` input and `o` output channels.
    func tilesPerBlock(channels c: Int, outputs o: Int) -> Int {
        blockTiles.map { Swift.max(1, $0) } ?? Self.automaticBlockTiles(channels: c, outputs: o)
    }

    private var weights = WorkerScratch<Scalar>(workers: 1)
    /// The stamp of the weights `U` was computed from, kept only after an evaluation-mode pass.
    private var transformedStamp: ConvolutionWeightStamp?
    private var blockScratch = WorkerScratch<Scalar>(workers: 1)
    private var gradientScratch = WorkerScratch<Scalar>(workers: 1)

    /// How a sample range is cut into blocks.
    struct Layout {
        /// Whole samples per block (1 when a sample is split by tile rows).
        let samplesPerBlock: Int
        /// Tile rows per block (all of them unless a sample is split).
        let rowsPerBlock: Int
        /// The most tiles a block holds.
        let maxTiles: Int
    }

    /// The blocks for `tiling` at `blockTiles` tiles.
    static func layout(_ tiling: WinogradTiling, blockTiles: Int) -> Layout {
        let perSample = tiling.tilesPerSample, wide = tiling.tilesWide, high = tiling.tilesHigh
        if perSample >= blockTiles {
            let rows = Swift.max(1, Swift.min(high, blockTiles / wide))
            return Layout(samplesPerBlock: 1, rowsPerBlock: rows, maxTiles: rows * wide)
        }
        let samples = Swift.max(1, blockTiles / perSample)
        return Layout(samplesPerBlock: samples, rowsPerBlock: high, maxTiles: samples * perSample)
    }

    /// Calls `body(first sample, sample count, tile rows)` for the blocks of `samples`, in order.
    static func forEachBlock(_ samples: Range<Int>, tiling: WinogradTiling, layout: Layout,
                             _ body: (_ first: Int, _ count: Int, _ rows: Range<Int>) -> Void) {
        let high = tiling.tilesHigh
        var sample = samples.lowerBound
        while sample < samples.upperBound {
            if layout.rowsPerBlock < high {
                var row = 0
                while row < high {
                    let end = Swift.min(high, row + layout.rowsPerBlock)
                    body(sample, 1, row..<end)
                    row = end
                }
                sample += 1
            } else {
                let count = Swift.min(layout.samplesPerBlock, samples.upperBound - sample)
                body(sample, count, 0..<high)
                sample += count
            }
        }
    }

    /// One thread's block buffers: `V` (`16·C·maxTiles`), `M` (`16·O·maxTiles`), the frame.
    private struct BlockBuffers {
        let v: UnsafeMutablePointer<Scalar>
        let m: UnsafeMutablePointer<Scalar>
        let frame: UnsafeMutablePointer<Scalar>
    }

    private func blockBuffers(workers: Int, tiling: WinogradTiling, outputs: Int, layout: Layout) -> [BlockBuffers] {
        if blockScratch.workers < workers { blockScratch = WorkerScratch(workers: workers) }
        let vCount = 16 * WinogradTiling.matrixStride(rows: tiling.channels, columns: layout.maxTiles)
        let mCount = 16 * WinogradTiling.matrixStride(rows: outputs, columns: layout.maxTiles)
        let frameCount = tiling.scratchCount(rows: layout.rowsPerBlock)
        return (0..<workers).map { w in
            let base = blockScratch.buffer(w, count: vCount + mCount + frameCount)
            return BlockBuffers(v: base, m: base + vCount, frame: base + vCount + mCount)
        }
    }

    /// `U = G g Gᵀ` of `weight` (`O × C·9`), unless `stamp` is the stamp `U` was computed from
    /// (nil: always recompute); the outputs split over the pool.
    private func prepareWeights(_ weight: Matrix<Scalar>, outputs o: Int, channels c: Int, stamp: ConvolutionWeightStamp?,
                                pool: ThreadPool?) {
        if let stamp, stamp == transformedStamp { return }
        let u = SendablePointer(weights.buffer(0, count: 16 * WinogradTiling.matrixStride(rows: o, columns: c)))
        weight.withUnsafeBufferPointer { w in
            let source = w.baseAddress!
            pool.parallelFor(count: o, minimumChunk: Swift.max(1, 4096 / c)) { outputs in
                Scalar.winogradWeightTransform(source, outputs: outputs, outputCount: o, channels: c, into: u.pointer)
            }
        }
        transformedStamp = stamp
    }

    /// How a pass over `n` samples is cut into chunks (`ThreadPool.balancedSplit`); one chunk
    /// without a pool.
    private static func split(_ n: Int, pool: ThreadPool?, tailChunksPerThread: Int) -> BalancedSplit {
        BalancedSplit(count: n, threads: pool?.threadCount ?? 1, tailChunksPerThread: tailChunksPerThread)
    }

    /// Runs `body(samples, chunk, slot)` over the chunks of `split(n, …)` on the pool's threads
    /// (BLAS single-threaded meanwhile), or on the calling thread; `slot` names the thread (its
    /// block buffers).
    private func forEachSampleChunk(_ n: Int, pool: ThreadPool?, tailChunksPerThread: Int,
                                    _ body: (_ samples: Range<Int>, _ chunk: Int, _ slot: Int) -> Void) {
        if let pool, Self.split(n, pool: pool, tailChunksPerThread: tailChunksPerThread).chunks > 1 {
            BLASThreads.with(1) { pool.parallelForBalanced(count: n, tailChunksPerThread: tailChunksPerThread, body) }
        } else {
            body(0..<n, 0, 0)
        }
    }

    /// The forward pass of `n` samples `x` (`C × H × W` each) into `y` (`O × OH × OW` each),
    /// then `epilogue` on each block's output rows. `weightStamp` (evaluation mode) keeps `U`
    /// for the next call with the same stamp; nil recomputes it.
    func forward(_ x: UnsafePointer<Scalar>, batch n: Int, tiling: WinogradTiling, outputs o: Int, weight: Matrix<Scalar>,
                 bias: UnsafePointer<Scalar>?, weightStamp: ConvolutionWeightStamp?, epilogue: ConvolutionEpilogue<Scalar> = .init(),
                 pool: ThreadPool?, observer: (any GEMMObserver)?, into y: UnsafeMutablePointer<Scalar>) {
        let c = tiling.channels
        prepareWeights(weight, outputs: o, channels: c, stamp: weightStamp, pool: pool)
        guard n > 0 else { return }
        let layout = Self.layout(tiling, blockTiles: tilesPerBlock(channels: c, outputs: o))
        let slots = Self.split(n, pool: pool, tailChunksPerThread: 4).headChunks
        let buffers = blockBuffers(workers: slots, tiling: tiling, outputs: o, layout: layout)
        let uStride = WinogradTiling.matrixStride(rows: o, columns: c)
        let u = UnsafePointer(weights.buffer(0, count: 16 * uStride))
        let inputCount = c * tiling.height * tiling.width, outputCount = o * tiling.outputHeight * tiling.outputWidth
        let out = SendablePointer(y)
        forEachSampleChunk(n, pool: pool, tailChunksPerThread: 4) { samples, _, slot in
            let b = buffers[slot]
            Self.forEachBlock(samples, tiling: tiling, layout: layout) { first, count, rows in
                let t = count * rows.count * tiling.tilesWide
                let vStride = WinogradTiling.matrixStride(rows: c, columns: t), mStride = WinogradTiling.matrixStride(rows: o, columns: t)
                Scalar.winogradInputTransform(x + first * inputCount, tiling: tiling, samples: count, rows: rows,
                                              into: b.v, scratch: b.frame)
                let products = {
                    for xi in 0..<16 {
                        Scalar.gemm(.none, .none, m: o, n: t, k: c, alpha: 1, a: u + xi * uStride, lda: c,
                                    b: b.v + xi * vStride, ldb: t, beta: 0, c: b.m + xi * mStride, ldc: t)
                    }
                }
                // The observer sees the calling thread's share only (see `GEMMObserver`).
                if slot == 0 { observer.observe(products) } else { products() }
                Scalar.winogradOutputTransform(b.m, tiling: tiling, outputs: o, samples: count, rows: rows, bias: bias,
                                               into: out.pointer + first * outputCount)
                if epilogue.isActive {
                    let rowStart = 2 * rows.lowerBound, rowEnd = Swift.min(tiling.outputHeight, 2 * rows.upperBound)
                    epilogue.apply(out.pointer, samples: first..<first + count, channels: o,
                                   planeRows: tiling.outputHeight, planeWidth: tiling.outputWidth, rows: rowStart..<rowEnd)
                }
            }
        }
    }

    /// The backward pass after `forward` on the same weights: `∂W += …` when `weightGradient` is
    /// non-nil, `∂x` overwritten when `inputGradient` is non-nil.
    func backward(input x: UnsafePointer<Scalar>, outputGradient dy: UnsafePointer<Scalar>, batch n: Int, tiling: WinogradTiling,
                  outputs o: Int, weightGradient: UnsafeMutablePointer<Scalar>?, inputGradient: UnsafeMutablePointer<Scalar>?,
                  pool: ThreadPool?, observer: (any GEMMObserver)?) {
        let needsWeight = weightGradient != nil, needsInput = inputGradient != nil
        guard n > 0, needsWeight || needsInput else { return }
        let c = tiling.channels
        let layout = Self.layout(tiling, blockTiles: tilesPerBlock(channels: c, outputs: o))
        let uStride = WinogradTiling.matrixStride(rows: o, columns: c)
        let u = UnsafePointer(weights.buffer(0, count: 16 * uStride))
        // Per chunk: ∂U (16·O·C) and, for chunks k ≥ 1, a ∂W partial (O·C·9), zeroed by the
        // chunk itself; chunk 0 adds Gᵀ ∂U G straight into `weightGradient` (one chunk is the
        // serial computation). Fewer tail chunks when these partials would be large.
        let transformedCount = 16 * uStride, weightCount = 9 * o * c
        let tail = needsWeight
            ? partialTailChunksPerThread(partialCount: transformedCount + weightCount, threads: pool?.threadCount ?? 1) : 4
        let split = Self.split(n, pool: pool, tailChunksPerThread: tail)
        let chunks = split.chunks
        let buffers = blockBuffers(workers: split.headChunks, tiling: tiling, outputs: o, layout: layout)
        if gradientScratch.workers < chunks { gradientScratch = WorkerScratch(workers: chunks) }
        let partials: [(du: SendablePointer<Scalar>, dw: SendablePointer<Scalar>)] = weightGradient.map { base in
            (0..<chunks).map { k in
                let buffer = gradientScratch.buffer(k, count: transformedCount + (k == 0 ? 0 : weightCount))
                return (SendablePointer(buffer), SendablePointer(k == 0 ? base : buffer + transformedCount))
            }
        } ?? []
        let inputCount = c * tiling.height * tiling.width, outputCount = o * tiling.outputHeight * tiling.outputWidth
        let dx = inputGradient.map(SendablePointer.init)
        forEachSampleChunk(n, pool: pool, tailChunksPerThread: tail) { samples, chunk, slot in
            let b = buffers[slot]
            if needsWeight {
                let partial = partials[chunk]
                Scalar.fill(partial.du.pointer, count: transformedCount, value: 0)
                if chunk > 0 { Scalar.fill(partial.dw.pointer, count: weightCount, value: 0) }
            }
            if let dx {
                Scalar.fill(dx.pointer + samples.lowerBound * inputCount, count: samples.count * inputCount, value: 0)
            }
            Self.forEachBlock(samples, tiling: tiling, layout: layout) { first, count, rows in
                let t = count * rows.count * tiling.tilesWide
                let vStride = WinogradTiling.matrixStride(rows: c, columns: t), mStride = WinogradTiling.matrixStride(rows: o, columns: t)
                if needsWeight {
                    Scalar.winogradInputTransform(x + first * inputCount, tiling: tiling, samples: count, rows: rows,
                                                  into: b.v, scratch: b.frame)
                }
                Scalar.winogradOutputGradientTransform(dy + first * outputCount, tiling: tiling, outputs: o, samples: count,
                                                       rows: rows, into: b.m)
                let products = {
                    if needsWeight {
                        let du = partials[chunk].du.pointer
                        for xi in 0..<16 {
                            Scalar.gemm(.none, .transpose, m: o, n: c, k: t, alpha: 1, a: b.m + xi * mStride, lda: t,
                                        b: b.v + xi * vStride, ldb: t, beta: 1, c: du + xi * uStride, ldc: c)
                        }
                    }
                    if needsInput {
                        for xi in 0..<16 {
                            Scalar.gemm(.transpose, .none, m: c, n: t, k: o, alpha: 1, a: u + xi * uStride, lda: c,
                                        b: b.m + xi * mStride, ldb: t, beta: 0, c: b.v + xi * vStride, ldc: t)
                        }
                    }
                }
                if slot == 0 { observer.observe(products) } else { products() }
                if let dx {
                    Scalar.winogradInputGradientTransform(b.v, tiling: tiling, samples: count, rows: rows,
                                                          accumulatingInto: dx.pointer + first * inputCount, scratch: b.frame)
                }
            }
            if needsWeight {
                let partial = partials[chunk]
                Scalar.winogradWeightGradient(partial.du.pointer, outputs: 0..<o, outputCount: o, channels: c,
                                              accumulatingInto: partial.dw.pointer)
            }
        }
        guard chunks > 1, let weightGradient else { return }
        // ∂W += Σ_{k ≥ 1} partial_k in chunk order (each element's sum in that order, the
        // elements split over the pool), so a given thread count gives the same numbers every run.
        let total = SendablePointer(weightGradient)
        pool.parallelFor(count: weightCount, minimumChunk: 1 << 14) { range in
            for partial in partials.dropFirst() {
                Scalar.accumulate(partial.dw.pointer + range.lowerBound, into: total.pointer + range.lowerBound, count: range.count)
            }
        }
    }
}
