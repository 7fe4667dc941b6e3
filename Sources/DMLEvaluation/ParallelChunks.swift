import Dispatch

/// Splits `0..<count` into at most `workers` contiguous chunks and runs `body` on each chunk
/// concurrently. Each chunk is processed sequentially, so results written to disjoint ranges
/// do not depend on the number of workers.
///
/// Contract: `body` may run on several threads at once and must only write state owned by its
/// chunk (the callers write disjoint rows through `SharedPointer`s), which is why it need not
/// be `@Sendable`.
enum ParallelChunks {
    static func run(count: Int, workers: Int, _ body: (Range<Int>) -> Void) {
        let chunks = Swift.max(1, Swift.min(workers, count))
        if chunks == 1 {
            body(0..<count)
            return
        }
        let size = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { escapable in
            let shared = UncheckedSendable(value: escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = c * size
                let end = Swift.min(count, start + size)
                if start < end { shared.value(start..<end) }
            }
        }
    }
}

/// A value handed to concurrent workers under the `ParallelChunks` contract.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// A raw pointer that may cross into concurrent workers that write disjoint ranges of it.
struct SharedPointer<Pointee>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Pointee>
}
