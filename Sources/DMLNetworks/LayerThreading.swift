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
    /// `pool.parallelFor(count:minimumChunk:)` with a pool, `body(0..<count)` without.
    @inlinable
    func parallelFor(count: Int, minimumChunk: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        if let pool = self {
            pool.parallelFor(count: count, minimumChunk: minimumChunk) { range, _ in body(range) }
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

/// A pointer into a layer's buffer, handed to the workers of a parallel region that write
/// disjoint ranges of it.
@usableFromInline
struct WorkerPointer<Pointee>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<Pointee>
    @usableFromInline init(_ base: UnsafeMutablePointer<Pointee>) { self.base = base }
}
