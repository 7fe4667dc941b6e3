import Testing
import Foundation
import Synchronization
@testable import DMLNumerics

/// A flag one chunk of a region raises for another.
private final class StartFlag: Sendable {
    let value = Atomic<Int>(0)
}

/// The pool's contract: static contiguous chunks that cover every index once, worker numbers,
/// fixed-order reductions, serial nested regions, scratch per worker, scoped BLAS threads.
@Suite struct ThreadPoolTests {
    @Test("Balanced chunks cover 0..<count exactly once, in order, sizes differing by at most one")
    func chunksPartition() {
        for count in [0, 1, 2, 7, 64, 1000, 1001] {
            for parts in 1...9 {
                var next = 0
                var sizes = [Int]()
                for index in 0..<parts {
                    let range = ThreadPool.chunk(index, of: parts, count: count)
                    #expect(range.lowerBound == next)
                    next = range.upperBound
                    sizes.append(range.count)
                }
                #expect(next == count)
                #expect(sizes.max()! - sizes.min()! <= 1)
                #expect(sizes == sizes.sorted(by: >))  // the longer chunks come first
            }
        }
    }

    @Test("parallelFor visits every index exactly once, chunk w on worker w", arguments: [1, 2, 3, 5])
    func parallelForCoverage(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for count in [1, 2, 3, 17, 4096, 10_007] {
            for grain in [1, 64, 5000] {
                var visits = [Int](repeating: 0, count: count)
                var workerOf = [Int](repeating: -1, count: count)
                let parts = pool.chunkCount(count: count, minimumChunk: grain)
                #expect(parts == max(1, min(threads, (count + grain - 1) / grain)))
                visits.withUnsafeMutableBufferPointer { v in
                    workerOf.withUnsafeMutableBufferPointer { w in
                        let visited = SendablePointer(v.baseAddress!), owner = SendablePointer(w.baseAddress!)
                        pool.parallelFor(count: count, minimumChunk: grain) { range, worker in
                            for i in range {
                                visited.pointer[i] += 1
                                owner.pointer[i] = worker
                            }
                        }
                    }
                }
                #expect(visits.allSatisfy { $0 == 1 })
                for w in 0..<parts {
                    #expect(ThreadPool.chunk(w, of: parts, count: count).allSatisfy { workerOf[$0] == w })
                }
            }
        }
    }

    @Test("Blocks do not depend on the thread count and each is visited once")
    func blocksAreThreadCountFree() {
        var reference: [Range<Int>]? = nil
        for threads in [1, 2, 4] {
            let pool = ThreadPool(threads: threads)
            var blocks = [Range<Int>](repeating: 0..<0, count: 11)
            var visits = [Int](repeating: 0, count: 11)
            blocks.withUnsafeMutableBufferPointer { b in
                visits.withUnsafeMutableBufferPointer { v in
                    let out = SendablePointer(b.baseAddress!), seen = SendablePointer(v.baseAddress!)
                    pool.forEachBlock(count: 1_003, blockSize: 100) { block, range, worker in
                        #expect(worker < threads)
                        out.pointer[block] = range
                        seen.pointer[block] += 1
                    }
                }
            }
            #expect(visits == [Int](repeating: 1, count: 11))
            #expect(blocks.last == 1_000..<1_003)
            if let reference { #expect(blocks == reference) } else { reference = blocks }
        }
    }

    @Test("reduce combines the block partials in block order at every thread count")
    func reductionOrder() {
        // A non-associative combine (list concatenation) shows the order directly.
        for threads in [1, 2, 3, 7] {
            let pool = ThreadPool(threads: threads)
            let order = pool.reduce(count: 95, blockSize: 10, initial: [Int]()) { range in [range.lowerBound / 10] } combine: { $0 + $1 }
            #expect(order == Array(0..<10))
        }
        // Float sums whose value depends on the order: identical at every thread count, and equal
        // to the sequential sum of the block sums in block order.
        var generator = SeededGenerator(seed: 5)
        let values = (0..<50_000).map { _ in Float(generator.nextNormal()) * Float(1 << Int(generator.nextInt(below: 20))) }
        var expected: Float = 0
        for start in stride(from: 0, to: values.count, by: 1000) {
            var block: Float = 0
            for i in start..<min(values.count, start + 1000) { block += values[i] }
            expected += block
        }
        for threads in [1, 2, 3, 8] {
            let pool = ThreadPool(threads: threads)
            for _ in 0..<5 {
                let sum = pool.reduce(count: values.count, blockSize: 1000, initial: Float(0)) { range in
                    var s: Float = 0
                    for i in range { s += values[i] }
                    return s
                } combine: { $0 + $1 }
                #expect(sum.bitPattern == expected.bitPattern)
            }
        }
    }

    @Test("A region started inside a region runs serially with the same chunks")
    func nestedRegionsRunSerially() {
        let pool = ThreadPool(threads: 3)
        var visits = [Int](repeating: 0, count: 300)
        visits.withUnsafeMutableBufferPointer { v in
            let seen = SendablePointer(v.baseAddress!)
            pool.parallelFor(count: 3) { outer, _ in
                for o in outer {
                    pool.parallelFor(count: 100) { inner, _ in
                        for i in inner { seen.pointer[o * 100 + i] += 1 }
                    }
                }
            }
        }
        #expect(visits.allSatisfy { $0 == 1 })
    }

    @Test("Thousands of short regions complete (no lost wake-ups) and use every worker")
    func manyShortRegions() {
        let pool = ThreadPool(threads: 4)
        var total = 0
        for round in 0..<3_000 {
            var slots = [Int](repeating: 0, count: 4)
            slots.withUnsafeMutableBufferPointer { s in
                let out = SendablePointer(s.baseAddress!)
                pool.run(workers: 1 + round % 4) { worker in out.pointer[worker] = worker + 1 }
            }
            #expect(slots.prefix(1 + round % 4) == ArraySlice((1...(1 + round % 4)).map { $0 }))
            total += slots.reduce(0, +)
        }
        #expect(total > 0)
    }

    @Test("Polling before blocking: no lost wake-ups, the same chunks, with and without a spin window", arguments: [0.0, 100e-6, 5e-3])
    func spinWindows(spin: Double) {
        let pool = ThreadPool(threads: 3, spinDuration: spin)
        #expect(pool.spinDuration == spin)
        var owners = [Int](repeating: -1, count: 3 * 1_000)
        owners.withUnsafeMutableBufferPointer { o in
            let out = SendablePointer(o.baseAddress!)
            for round in 0..<1_000 {
                // Alternate back-to-back regions with gaps longer than the window, and regions
                // that need fewer helpers than the pool has.
                if round % 100 == 0 { usleep(UInt32(spin * 2e6) + 100) }
                pool.run(workers: 1 + round % 3) { worker in out.pointer[round * 3 + worker] = worker }
            }
        }
        for round in 0..<1_000 {
            let used = 1 + round % 3
            #expect(Array(owners[(round * 3)..<(round * 3 + used)]) == Array(0..<used))
            #expect(owners[(round * 3 + used)..<(round * 3 + 3)].allSatisfy { $0 == -1 })
        }
    }

    @Test("Statistics count the regions that ran on several threads and the caller's wait at their barriers")
    func regionStatistics() {
        let pool = ThreadPool(threads: 2)
        #expect(pool.statistics == ThreadPool.Statistics())
        for _ in 0..<10 { pool.parallelFor(count: 4) { _, _ in } }
        pool.parallelFor(count: 1) { _, _ in }                      // one chunk: on the caller alone
        pool.parallelFor(count: 100, minimumChunk: 1_000) { _, _ in }  // below the grain: likewise
        // A helper chunk of 20 ms; the caller's chunk returns only once a helper has started it
        // (so the caller cannot take it over), then the caller waits for it at the barrier.
        let started = StartFlag()
        pool.run(workers: 2) { worker in
            if worker == 1 {
                started.value.store(1, ordering: .releasing)
                usleep(20_000)
            } else {
                while started.value.load(ordering: .acquiring) == 0 { sched_yield() }
            }
        }
        let statistics = pool.statistics
        #expect(statistics.regions == 11)
        #expect(statistics.barrierSeconds >= 0.015)
        #expect(statistics.helperStartSeconds > 0 && statistics.helperStartSeconds < statistics.barrierSeconds + 60)
        pool.resetStatistics()
        #expect(pool.statistics == ThreadPool.Statistics())
        let single = ThreadPool(threads: 1)
        single.parallelFor(count: 100) { _, _ in }
        #expect(single.statistics.regions == 0)
    }

    @Test("The caller runs the chunks no helper has claimed when its own is done, each chunk once")
    func callerRunsUnclaimedChunks() {
        // Helpers that block at once (no spin window) and are woken for a region whose chunk 0
        // is empty: the caller is done long before a futex wake-up completes, so it claims the
        // helpers' chunks itself in most rounds, and every chunk still runs exactly once.
        let pool = ThreadPool(threads: 3, spinDuration: 0)
        let rounds = 200
        var runs = [Int](repeating: 0, count: 3 * rounds)
        var onCaller = [Bool](repeating: false, count: 3 * rounds)
        let caller = pthread_self()
        runs.withUnsafeMutableBufferPointer { r in
            onCaller.withUnsafeMutableBufferPointer { c in
                let count = SendablePointer(r.baseAddress!), mine = SendablePointer(c.baseAddress!)
                for round in 0..<rounds {
                    if round % 10 == 0 { usleep(1_000) }  // let the helpers block
                    pool.run(workers: 3) { worker in
                        count.pointer[round * 3 + worker] += 1
                        mine.pointer[round * 3 + worker] = pthread_equal(pthread_self(), caller) != 0
                    }
                }
            }
        }
        #expect(runs.allSatisfy { $0 == 1 })
        let stolen = (0..<rounds).reduce(0) { $0 + (onCaller[$1 * 3 + 1] ? 1 : 0) + (onCaller[$1 * 3 + 2] ? 1 : 0) }
        #expect(pool.statistics.chunksRunByCaller == stolen)
        #expect(stolen > 0)
        #expect((0..<rounds).allSatisfy { onCaller[$0 * 3] })   // chunk 0 always on the caller
    }

    @Test("A balanced split covers 0..<count once, in order: a head chunk per thread, then tail chunks of the last quarter")
    func balancedSplitPartition() {
        for threads in [1, 2, 3, 8] {
            for count in [0, 1, 2, 3, 7, 16, 64, 128, 1000, 10_007] {
                for grain in [1, 4, 100] {
                    for tail in [0, 1, 4] {
                        let split = BalancedSplit(count: count, threads: threads, minimumChunk: grain, tailChunksPerThread: tail)
                        var next = 0
                        for k in 0..<split.chunks {
                            let range = split.range(k)
                            #expect(range.lowerBound == next, "\(split) chunk \(k)")
                            #expect(!range.isEmpty || count == 0, "\(split) chunk \(k) empty")
                            next = range.upperBound
                        }
                        #expect(next == count, "\(split)")
                        #expect(split.headChunks <= threads && split.headChunks >= 1)
                        #expect(split.tailChunks <= tail * threads)
                        let possible = max(1, (count + grain - 1) / grain)
                        if threads == 1 || tail == 0 || possible <= threads {
                            // No tail: as many equal chunks as threads (or fewer), as parallelFor.
                            #expect(split.tailChunks == 0 && split.headChunks == (threads == 1 ? 1 : min(threads, possible)))
                        } else {
                            #expect(split.headChunks == threads)
                            // Every chunk at least the minimum, the tail about a quarter (at least).
                            for k in 0..<split.chunks { #expect(split.range(k).count >= grain, "\(split) chunk \(k)") }
                            #expect(split.tailCount >= min(count / 4, count - threads * grain))
                        }
                    }
                }
            }
        }
        // The worked case of the documentation: 128 samples on 2 threads, 4 tails a thread.
        let split = BalancedSplit(count: 128, threads: 2, tailChunksPerThread: 4)
        #expect(split.headChunks == 2 && split.tailChunks == 8 && split.tailCount == 32)
        #expect(split.range(0) == 0..<48 && split.range(1) == 48..<96 && split.range(2) == 96..<100 && split.range(9) == 124..<128)
    }

    @Test("parallelForBalanced runs every chunk once with its own range, heads on their slots, whoever runs the tails",
          arguments: [1, 2, 3, 5])
    func balancedRegionCoverage(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for count in [1, 2, 5, 17, 128, 4096] {
            for grain in [1, 3, 1000] {
                let split = pool.balancedSplit(count: count, minimumChunk: grain)
                var visits = [Int](repeating: 0, count: count)
                var chunkOf = [Int](repeating: -1, count: count)
                var slotOf = [Int](repeating: -1, count: split.chunks)
                var busy = [Int](repeating: 0, count: threads)
                var overlap = false
                visits.withUnsafeMutableBufferPointer { v in
                    chunkOf.withUnsafeMutableBufferPointer { c in
                        slotOf.withUnsafeMutableBufferPointer { sl in
                            busy.withUnsafeMutableBufferPointer { b in
                                withUnsafeMutablePointer(to: &overlap) { o in
                                    let visited = SendablePointer(v.baseAddress!), owner = SendablePointer(c.baseAddress!)
                                    let slots = SendablePointer(sl.baseAddress!), inUse = SendablePointer(b.baseAddress!)
                                    let clash = SendablePointer(o)
                                    pool.parallelForBalanced(count: count, minimumChunk: grain) { range, chunk, slot in
                                        // A slot never runs two chunks at once (its scratch is its own).
                                        inUse.pointer[slot] += 1
                                        if inUse.pointer[slot] != 1 { clash.pointer.pointee = true }
                                        slots.pointer[chunk] = slot
                                        for i in range {
                                            visited.pointer[i] += 1
                                            owner.pointer[i] = chunk
                                        }
                                        inUse.pointer[slot] -= 1
                                    }
                                }
                            }
                        }
                    }
                }
                #expect(visits.allSatisfy { $0 == 1 }, "\(threads) threads, \(count), grain \(grain)")
                #expect(!overlap)
                for k in 0..<split.chunks {
                    #expect(split.range(k).allSatisfy { chunkOf[$0] == k })
                    if k < split.headChunks { #expect(slotOf[k] == k) }   // head k runs on slot k
                    #expect(slotOf[k] >= 0 && slotOf[k] < threads)
                }
            }
        }
    }

    @Test("Worker scratch keeps one growing buffer per worker")
    func scratchPerWorker() {
        let scratch = WorkerScratch<Float>(workers: 2)
        let a = scratch.buffer(0, count: 10)
        let b = scratch.buffer(1, count: 10)
        #expect(a != b)
        #expect(scratch.buffer(0, count: 5) == a)  // reused when large enough
        a[9] = 3
        #expect(scratch.buffer(0, count: 10)[9] == 3)
        #expect(scratch.workers == 2)
    }

    @Test("BLASThreads.with sets the count for its body and restores the previous one, also on throw")
    func scopedBLASThreads() {
        // The logic on a private setting (OpenBLAS's own is process-wide, and tests run in parallel).
        struct Failure: Error {}
        var setting = 4, calls = [Int]()
        let inside = BLASThreads.scoped(1, current: { setting }, set: { setting = $0; calls.append($0) }) { setting }
        #expect(inside == 1 && setting == 4 && calls == [1, 4])
        calls = []
        #expect(throws: Failure.self) {
            try BLASThreads.scoped(2, current: { setting }, set: { setting = $0; calls.append($0) }) { throw Failure() }
        }
        #expect(setting == 4 && calls == [2, 4])
        calls = []
        BLASThreads.scoped(4, current: { setting }, set: { setting = $0; calls.append($0) }) {}
        #expect(calls.isEmpty)  // no change, no call
        #expect(BLASThreads.with(1) { 7 } == 7)
        #expect(ThreadBudget.availableCores >= 1)
    }
}

@Suite struct ThreadPoolAccumulateTests {
    @Test("Per-worker partials are added in worker order, the same at every split of the elements")
    func accumulateInWorkerOrder() {
        let count = 40_000, workers = 3
        let scratch = WorkerScratch<Float>(workers: workers)
        var generator = SeededGenerator(seed: 1)
        for w in 0..<workers {
            let p = scratch.buffer(w, count: count)
            for i in 0..<count { p[i] = Float(generator.nextNormal()) * (w == 1 ? 1e7 : 1) }
        }
        var expected = [Float](repeating: 0.5, count: count)
        for i in 0..<count {
            for w in 0..<workers { expected[i] += scratch.buffer(w, count: count)[i] }
        }
        for threads in [1, 2, 4] {
            var out = [Float](repeating: 0.5, count: count)
            out.withUnsafeMutableBufferPointer { o in
                ThreadPool(threads: threads).accumulate(partials: scratch, workers: workers, count: count, into: o.baseAddress!)
            }
            #expect(out.map(\.bitPattern) == expected.map(\.bitPattern))
        }
    }
}
