import Foundation
import Synchronization

/// A fixed set of compute threads, created once by the caller (a training run, a command) and
/// passed explicitly to the code that uses it. There is no global pool.
///
/// `threadCount` threads take part in every parallel region: the calling thread is worker 0 and
/// `threadCount − 1` background threads are workers `1..<threadCount`. Between regions a worker
/// first polls for the next one for `spinDuration` seconds (yielding its core to other runnable
/// threads on every poll, `sched_yield`), then blocks on a condition variable; the caller, once
/// its own chunk is done, first runs every chunk that no helper has claimed yet (a helper that
/// wakes late — a futex wake-up, or a vCPU the host gave to someone else — finds nothing left
/// and goes back to waiting), then polls the same way for the others to finish before it
/// blocks. A region that follows the last one within the spin window so starts and joins
/// without waking a sleeping thread (a futex wake-up, on a virtual machine an inter-processor
/// interrupt to a halted vCPU: tens of µs each); a pool whose caller runs serial code or BLAS
/// for longer than the window costs nothing after it.
///
/// Work is split **statically**: `parallelFor(count:)` gives worker `w` the contiguous range
/// `ThreadPool.chunk(w, of: parts, count:)`, so a given thread count always splits a given range
/// the same way, and every result that is written to disjoint ranges, or reduced in chunk order
/// (`reduce`), is identical run after run. `forEachBlock(count:blockSize:)` splits into blocks
/// whose size does not depend on the thread count; a per-block result combined in block order is
/// then identical at every thread count.
///
/// Contract of the bodies: they may run on several threads at once and must write only state
/// owned by their range (or their worker's scratch, `WorkerScratch`). BLAS called from a body
/// runs on that worker: keep OpenBLAS single-threaded around such regions
/// (`BLASThreads.with(1) { … }`) so the machine is not oversubscribed. The pool is used by one
/// caller at a time; a parallel region started from inside another one (or from a second thread
/// while one is running) runs its chunks one after another on the calling thread, with the same
/// chunks, so results do not change.
public final class ThreadPool: @unchecked Sendable {
    /// The number of threads in a parallel region, the caller included (`≥ 1`).
    public let threadCount: Int
    /// How long (seconds) an idle worker polls for the next region, and the caller for the
    /// others to finish a region, before blocking.
    public let spinDuration: Double
    private let state: PoolState

    /// The default spin window, 5 ms: long enough that an idle worker polls through the gaps
    /// of a training step (the loss, the optimizer's bookkeeping, the serial head) and of the
    /// next step's start, short enough that a pool left idle stops using CPU within 5 ms. On a
    /// virtual machine a worker that blocks lets its vCPU halt, and the hypervisor may give the
    /// physical core to another guest: the next region then waits for the vCPU to be scheduled
    /// again, and the host's steal rises. Measured (docs/networks.md, "Session 7: the pool's
    /// spin window"): the small CNN at 2 threads against 1, the windows alternated in two sets
    /// of 12 and 10 rounds, medians 1.70× and 1.65× with 100 µs (the earlier default),
    /// 1.81–1.90× with 1, 2, 5 and 20 ms. (Intel's OpenMP spins for 200 ms by default.)
    public static let defaultSpinDuration = 5e-3

    /// A pool of `threads` compute threads (the caller and `threads − 1` background threads)
    /// that poll for `spinDuration` seconds (`defaultSpinDuration`; 0: block at once) before
    /// blocking.
    public init(threads: Int, spinDuration: Double = ThreadPool.defaultSpinDuration) {
        precondition(threads >= 1, "a thread pool needs at least one thread, got \(threads)")
        precondition(spinDuration >= 0, "spinDuration must not be negative, got \(spinDuration)")
        threadCount = threads
        self.spinDuration = spinDuration
        state = PoolState(workers: threads - 1, spinDuration: spinDuration)
    }

    /// What the pool's parallel regions cost the calling thread since the pool was made or
    /// `resetStatistics()` was last called (for profiles).
    public struct Statistics: Sendable, Equatable {
        /// Parallel regions run on more than one thread.
        public var regions = 0
        /// Seconds the calling thread spent, after its own chunk, waiting for the other workers
        /// to finish theirs (the barrier at the end of every region), summed over the regions.
        public var barrierSeconds = 0.0
        /// Seconds from a region's start to each helper's start on it (the wake-up latency),
        /// summed over the helpers that ran a chunk of it.
        public var helperStartSeconds = 0.0
        /// Helper chunks the calling thread ran itself because no helper had claimed them when
        /// its own chunk was done.
        public var chunksRunByCaller = 0
    }

    /// The regions run and the caller's time at their barriers (see `Statistics`).
    public var statistics: Statistics { state.statistics }

    /// Sets `statistics` back to zero.
    public func resetStatistics() { state.resetStatistics() }

    deinit { state.stop() }

    /// The `index`-th of `parts` balanced contiguous chunks of `0..<count`: the first
    /// `count mod parts` chunks have `⌈count/parts⌉` elements, the others `⌊count/parts⌋`.
    public static func chunk(_ index: Int, of parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let start = index * base + Swift.min(index, extra)
        return start..<(start + base + (index < extra ? 1 : 0))
    }

    /// The number of chunks `parallelFor` uses: `min(threadCount, ⌈count / minimumChunk⌉)`,
    /// at least 1.
    public func chunkCount(count: Int, minimumChunk: Int = 1) -> Int {
        guard count > 0 else { return 1 }
        let grain = Swift.max(1, minimumChunk)
        return Swift.max(1, Swift.min(threadCount, (count + grain - 1) / grain))
    }

    /// Runs `body(range, worker)` for the `chunkCount(count:minimumChunk:)` balanced contiguous
    /// chunks of `0..<count`, chunk `w` on worker `w`, and returns when all are done. Chunks are
    /// never smaller than `minimumChunk` (except when `count` is), so small loops stay on the
    /// calling thread. Nothing runs when `count ≤ 0`.
    public func parallelFor(count: Int, minimumChunk: Int = 1, _ body: (_ range: Range<Int>, _ worker: Int) -> Void) {
        guard count > 0 else { return }
        let parts = chunkCount(count: count, minimumChunk: minimumChunk)
        if parts == 1 {
            body(0..<count, 0)
            return
        }
        run(workers: parts) { w in body(Self.chunk(w, of: parts, count: count), w) }
    }

    /// How `parallelForBalanced` cuts `0..<count`: one **head** chunk per thread covering about
    /// three quarters of the range, then up to `tailChunksPerThread · threadCount` small **tail**
    /// chunks of the rest (none smaller than `minimumChunk`); with too few elements for that,
    /// up to `threadCount` equal chunks and no tail. The cut depends only on the count, the
    /// minimum, the tail setting and the thread count.
    public func balancedSplit(count: Int, minimumChunk: Int = 1, tailChunksPerThread: Int = 4) -> BalancedSplit {
        BalancedSplit(count: count, threads: threadCount, minimumChunk: minimumChunk, tailChunksPerThread: tailChunksPerThread)
    }

    /// Runs `body(range, chunk, slot)` for every chunk of `balancedSplit(count:…)` and returns
    /// when all are done. Thread slot `w` runs head chunk `w` first, then every thread claims
    /// the tail chunks in increasing order as it comes free (dynamic load balancing: a thread
    /// that starts late or runs slower — a vCPU the host shares — takes fewer of them, so the
    /// others wait at most about half a tail chunk at the end of the region). `slot`
    /// (`0..<threadCount`) names the thread running the chunk, for its scratch memory: no two
    /// chunks run at once with the same slot. What a chunk computes must depend on `chunk` and
    /// `range` only, never on `slot`; per-chunk results combined in chunk order are then
    /// identical run after run at a given thread count, whichever threads ran them.
    public func parallelForBalanced(count: Int, minimumChunk: Int = 1, tailChunksPerThread: Int = 4,
                                    _ body: (_ range: Range<Int>, _ chunk: Int, _ slot: Int) -> Void) {
        guard count > 0 else { return }
        let split = balancedSplit(count: count, minimumChunk: minimumChunk, tailChunksPerThread: tailChunksPerThread)
        if split.chunks == 1 {
            body(0..<count, 0, 0)
            return
        }
        let counter = ChunkCounter()
        run(workers: split.headChunks) { slot in
            body(split.range(slot), slot, slot)
            while true {
                let tail = counter.claim()
                if tail >= split.tailChunks { return }
                body(split.range(split.headChunks + tail), split.headChunks + tail, slot)
            }
        }
    }

    /// Splits `0..<count` into `⌈count / blockSize⌉` blocks of `blockSize` (the last may be
    /// shorter), which do not depend on the thread count, deals them out to the workers in
    /// contiguous runs (`chunk`), and calls `body(block, range, worker)` for every block; each
    /// worker visits its blocks in increasing order.
    public func forEachBlock(count: Int, blockSize: Int,
                             _ body: (_ block: Int, _ range: Range<Int>, _ worker: Int) -> Void) {
        guard count > 0 else { return }
        precondition(blockSize >= 1, "blockSize must be positive, got \(blockSize)")
        let blocks = (count + blockSize - 1) / blockSize
        parallelFor(count: blocks) { blockRange, worker in
            for b in blockRange {
                body(b, (b * blockSize)..<Swift.min(count, (b + 1) * blockSize), worker)
            }
        }
    }

    /// A fixed-order reduction: `partial(range)` for each of the `⌈count / blockSize⌉` blocks of
    /// `forEachBlock` (computed in parallel), then `combine` applied left to right in block
    /// order, starting from `initial`. Because the blocks and the order do not depend on the
    /// thread count, neither does the result (for any `combine`, associative or not).
    public func reduce<Result>(count: Int, blockSize: Int, initial: Result,
                               _ partial: (_ range: Range<Int>) -> Result,
                               combine: (Result, Result) -> Result) -> Result {
        guard count > 0 else { return initial }
        let blocks = (count + Swift.max(1, blockSize) - 1) / Swift.max(1, blockSize)
        var partials = [Result?](repeating: nil, count: blocks)
        partials.withUnsafeMutableBufferPointer { slots in
            let out = SendablePointer(slots.baseAddress!)
            forEachBlock(count: count, blockSize: blockSize) { block, range, _ in
                out.pointer[block] = partial(range)
            }
        }
        var total = initial
        for p in partials { total = combine(total, p!) }
        return total
    }

    /// Runs `body(w)` for `w` in `0..<workers` (`workers ≤ threadCount`), `w = 0` on the calling
    /// thread, and waits for all of them. Chunks `1..<workers` go to the helpers in the order
    /// they claim them; the calling thread runs any of them still unclaimed once chunk 0 is
    /// done. Which thread runs chunk `w` never changes what it computes (a body sees only `w`).
    public func run(workers: Int, _ body: (_ worker: Int) -> Void) {
        let workers = Swift.min(workers, threadCount)
        guard workers > 1, state.begin() else {
            for w in 0..<Swift.max(workers, 1) { body(w) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            state.dispatch(Job(body: escapable), helpers: workers - 1)
            escapable(0)
            state.runUnclaimed(escapable)
            state.waitForHelpers(workers - 1)
        }
    }
}

/// The chunks of a `ThreadPool.parallelForBalanced` region over `0..<count`: `headChunks`
/// balanced contiguous chunks of the first `count − tailCount` elements (one per thread), then
/// `tailChunks` balanced contiguous chunks of the last `tailCount`.
public struct BalancedSplit: Sendable, Equatable {
    /// The elements split.
    public let count: Int
    /// The head chunks (at most one per thread).
    public let headChunks: Int
    /// The tail chunks (0 when the range is too small for a tail).
    public let tailChunks: Int
    /// The elements in the tail chunks.
    public let tailCount: Int

    /// The cut of `count` elements for `threads` threads: with `P = ⌈count / minimumChunk⌉`
    /// possible chunks, `min(threads, P)` equal chunks and no tail when `P ≤ threads` (or one
    /// thread); else `threads` head chunks and `t = min(tailChunksPerThread · threads, P −
    /// threads)` tail chunks over the last `e = max(t · minimumChunk, ⌊count/4⌋)` elements (at
    /// most what leaves every head chunk `minimumChunk`; fewer tail chunks, `⌊e / minimumChunk⌋`,
    /// when `e` is too small for `t` of them, and no tail when none fits).
    public init(count: Int, threads: Int, minimumChunk: Int = 1, tailChunksPerThread: Int = 4) {
        self.count = Swift.max(0, count)
        let grain = Swift.max(1, minimumChunk), threads = Swift.max(1, threads)
        let possible = Swift.max(1, (self.count + grain - 1) / grain)
        let tail = Swift.min(Swift.max(0, tailChunksPerThread) * threads, possible - threads)
        guard threads > 1, tail > 0 else {
            (headChunks, tailChunks, tailCount) = (threads > 1 ? Swift.min(threads, possible) : 1, 0, 0)
            return
        }
        let elements = Swift.min(Swift.max(tail * grain, self.count / 4), self.count - threads * grain)
        let tails = elements > 0 ? Swift.min(tail, elements / grain) : 0
        guard tails > 0 else {
            (headChunks, tailChunks, tailCount) = (Swift.min(threads, possible), 0, 0)
            return
        }
        (headChunks, tailChunks, tailCount) = (threads, tails, elements)
    }

    /// All chunks, head and tail.
    public var chunks: Int { headChunks + tailChunks }

    /// The range of chunk `k` (`0..<chunks`; heads first).
    public func range(_ k: Int) -> Range<Int> {
        let headCount = count - tailCount
        if k < headChunks { return ThreadPool.chunk(k, of: headChunks, count: headCount) }
        let r = ThreadPool.chunk(k - headChunks, of: tailChunks, count: tailCount)
        return (headCount + r.lowerBound)..<(headCount + r.upperBound)
    }
}

/// A pointer handed to the workers of a `ThreadPool` region, which write disjoint parts of it.
public struct SendablePointer<Pointee>: @unchecked Sendable {
    /// The address.
    public let pointer: UnsafeMutablePointer<Pointee>
    /// Wraps `pointer`.
    public init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}

/// Scratch memory of each worker of a pool: `buffer(worker, count)` returns at least `count`
/// elements owned by that worker, grown on demand and kept between calls (so a layer that keeps
/// one allocates only in its first step). Worker `w` may only ask for buffer `w`; contents are
/// stale between calls.
public final class WorkerScratch<Element>: @unchecked Sendable {
    private var buffers: [UnsafeMutablePointer<Element>?]
    private var capacities: [Int]

    /// Empty buffers for `workers` workers (use the pool's `threadCount`).
    public init(workers: Int) {
        buffers = Array(repeating: nil, count: Swift.max(1, workers))
        capacities = Array(repeating: 0, count: Swift.max(1, workers))
    }

    deinit {
        for buffer in buffers { buffer?.deallocate() }
    }

    /// The number of workers this scratch serves.
    public var workers: Int { buffers.count }

    /// At least `count` elements of worker `worker`'s buffer (uninitialized or stale for
    /// trivial element types such as `Float`, `Double`, `Int`).
    public func buffer(_ worker: Int, count: Int) -> UnsafeMutablePointer<Element> {
        if capacities[worker] < count || buffers[worker] == nil {
            buffers[worker]?.deallocate()
            let capacity = Swift.max(count, 1)
            buffers[worker] = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
            capacities[worker] = capacity
        }
        return buffers[worker]!
    }
}

/// The next unclaimed chunk of a `parallelForBalanced` region (one per region, so a region
/// nested inside another, which runs serially, keeps its own count).
private final class ChunkCounter: @unchecked Sendable {
    private let next = Atomic<Int>(0)

    /// The next chunk number (0, 1, 2, … across all threads, each number once).
    func claim() -> Int { next.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// A body of a parallel region, valid only while `ThreadPool.run` is on the stack.
private struct Job: @unchecked Sendable {
    let body: (Int) -> Void
}

/// The shared state of a pool and its background threads (kept apart from `ThreadPool` so the
/// threads do not keep the pool alive). Everything is guarded by `condition`; `published` and
/// `done` mirror `generation` and `finished` for the threads that poll before they block.
private final class PoolState: @unchecked Sendable {
    private let condition = NSCondition()
    private var job: Job?
    private var generation = 0
    private var helpersWanted = 0
    private var claimed = 0
    private var finished = 0
    private var active = false
    private var stopping = false
    private var threads: [Thread] = []
    private let spinDuration: Double
    /// `generation`, written after it under the lock, read by polling workers.
    private let published = Atomic<Int>(0)
    /// `finished`, written after it under the lock, read by the polling caller.
    private let done = Atomic<Int>(0)
    private var recorded = ThreadPool.Statistics()
    /// When the current region was dispatched (`MonotonicClock.seconds()`).
    private var dispatchTime = 0.0

    init(workers: Int, spinDuration: Double) {
        self.spinDuration = spinDuration
        for index in 0..<workers {
            let thread = Thread { [self] in self.workerLoop(index: index + 1) }
            thread.name = "dml-pool-\(index + 1)"
            thread.stackSize = 8 << 20
            threads.append(thread)
            thread.start()
        }
    }

    var statistics: ThreadPool.Statistics {
        condition.lock()
        defer { condition.unlock() }
        return recorded
    }

    func resetStatistics() {
        condition.lock()
        recorded = ThreadPool.Statistics()
        condition.unlock()
    }

    /// Marks a region as running; false when one already is (the caller then runs serially).
    func begin() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if active || stopping || threads.isEmpty { return false }
        active = true
        return true
    }

    func dispatch(_ job: Job, helpers: Int) {
        condition.lock()
        self.job = job
        helpersWanted = helpers
        claimed = 0
        finished = 0
        done.store(0, ordering: .relaxed)
        dispatchTime = MonotonicClock.seconds()
        generation += 1
        published.store(generation, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    /// Polls (yielding the core on every poll) until `condition()` holds or `spinDuration` has
    /// passed; true when it holds.
    @inline(__always)
    private func poll(_ condition: () -> Bool) -> Bool {
        guard spinDuration > 0 else { return condition() }
        let deadline = MonotonicClock.seconds() + spinDuration
        while true {
            if condition() { return true }
            if MonotonicClock.seconds() > deadline { return false }
            sched_yield()
        }
    }

    /// Runs on the calling thread, one after another, the chunks of the current region that no
    /// helper has claimed yet.
    func runUnclaimed(_ body: (Int) -> Void) {
        while true {
            condition.lock()
            guard claimed < helpersWanted else {
                condition.unlock()
                return
            }
            claimed += 1
            let worker = claimed
            recorded.chunksRunByCaller += 1
            condition.unlock()
            body(worker)
            condition.lock()
            finished += 1
            done.store(finished, ordering: .releasing)
            condition.unlock()
        }
    }

    func waitForHelpers(_ helpers: Int) {
        let start = MonotonicClock.seconds()
        _ = poll { done.load(ordering: .acquiring) >= helpers }
        condition.lock()
        while finished < helpersWanted { condition.wait() }
        job = nil
        active = false
        recorded.regions += 1
        recorded.barrierSeconds += MonotonicClock.seconds() - start
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func workerLoop(index: Int) {
        var seen = 0
        condition.lock()
        while true {
            if !stopping && (generation == seen || claimed >= helpersWanted) {
                if generation != seen { seen = generation }  // a region that needs fewer helpers
                // Poll for the next region outside the lock, then block if none came.
                let last = seen
                condition.unlock()
                _ = poll { published.load(ordering: .acquiring) != last }
                condition.lock()
                while !stopping && (generation == seen || claimed >= helpersWanted) {
                    if generation != seen { seen = generation }
                    condition.wait()
                }
            }
            if stopping { break }
            seen = generation
            claimed += 1
            let worker = claimed  // 1...helpersWanted, in the order helpers wake up
            var body = job
            recorded.helperStartSeconds += MonotonicClock.seconds() - dispatchTime
            condition.unlock()
            body!.body(worker)
            body = nil
            condition.lock()
            finished += 1
            done.store(finished, ordering: .releasing)
            if finished == helpersWanted { condition.broadcast() }
        }
        condition.unlock()
    }
}

extension ThreadPool {
    /// `destination[i] += Σ_w partials.buffer(w)[i]` for `i < count`, the per-worker partial sums
    /// (for example of a parameter gradient) added in worker order `0, 1, …, workers − 1`, so the
    /// result is identical run after run at a fixed thread count. The elements are split over
    /// the pool (each element's sum keeps that order).
    public func accumulate<T: BLASScalar>(partials: WorkerScratch<T>, workers: Int, count: Int,
                                          into destination: UnsafeMutablePointer<T>) {
        guard count > 0, workers > 0 else { return }
        let out = SendablePointer(destination)
        let sources = (0..<workers).map { SendablePointer(partials.buffer($0, count: count)) }
        parallelFor(count: count, minimumChunk: 1 << 14) { range, _ in
            for source in sources {
                for i in range { out.pointer[i] += source.pointer[i] }
            }
        }
    }
}
