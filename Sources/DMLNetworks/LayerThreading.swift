import DMLNumerics

/// A layer that splits its work over the workers of a `ThreadPool` when it has one.
///
/// The pool is owned by the caller (the run, the command) and handed to the layers once
/// (`Sequential.use(pool:)`); with no pool a layer runs on the calling thread. Every layer
/// splits its work statically (`ThreadPool.parallelFor`), so a given thread count gives the same
/// numbers run after run; the elementwise layers give the same numbers at every thread count.
public protocol PoolParallelLayer: AnyObject {
    /// The pool the layer splits its work over, or nil for the calling thread alone.
    var pool: ThreadPool? { get set }
}

extension Sequential {
    /// Hands `pool` (or nil) to every layer that can use it, nested containers included.
    public func use(pool: ThreadPool?) {
        for (_, layer) in layers {
            (layer as? any PoolParallelLayer)?.pool = pool
            (layer as? Sequential<Scalar>)?.use(pool: pool)
        }
    }
}

/// Elements per chunk below which an elementwise kernel stays on one thread (about 10 µs of
/// work; a parallel region costs a few µs to start).
let elementwiseGrain = 1 << 15

extension Optional where Wrapped == ThreadPool {
    /// `pool.parallelForBalanced(count:minimumChunk:)` with a pool (the chunks claimed by
    /// whichever thread is free), `body(0..<count)` without. For bodies that write only their
    /// range, so the result never depends on the chunks.
    @inlinable
    func parallelFor(count: Int, minimumChunk: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        if let pool = self {
            pool.parallelForBalanced(count: count, minimumChunk: minimumChunk) { range, _, _ in body(range) }
        } else {
            body(0..<count)
        }
    }

    /// Whether a pool with more than one thread would split `count` items at `minimumChunk`.
    func splits(count: Int, minimumChunk: Int) -> Bool {
        guard let pool = self else { return false }
        return pool.chunkCount(count: count, minimumChunk: minimumChunk) > 1
    }
}

/// Tail chunks per thread (`ThreadPool.parallelForBalanced`) for a pass that keeps a partial sum
/// of `partialCount` scalars per chunk (a weight gradient): 4, for load balancing, unless the
/// partials of all `threads · (1 + tail)` chunks would pass `1 << 22` scalars (16 MiB of
/// Float), then fewer, down to none (large layers, whose work per chunk dwarfs a thread's late
/// start).
func partialTailChunksPerThread(partialCount: Int, threads: Int) -> Int {
    Swift.max(0, Swift.min(4, (1 << 22) / Swift.max(1, threads * partialCount) - 1))
}

/// A pointer into a layer's buffer, handed to the workers of a parallel region that write
/// disjoint ranges of it.
@usableFromInline
struct WorkerPointer<Pointee>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<Pointee>
    @usableFromInline init(_ base: UnsafeMutablePointer<Pointee>) { self.base = base }
}
