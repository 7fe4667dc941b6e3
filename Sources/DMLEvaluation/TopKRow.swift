/// The `k` best (smallest score) candidates seen so far for one query, over caller-owned
/// storage of `slots(k:)` slots, so a whole block of queries shares flat buffers and no
/// candidate allocates.
///
/// Candidates that beat the current threshold are appended by a branch-free loop, `chunk` at a
/// time; when more than `2k` are held, a quickselect keeps the `k` best and the `k`-th best
/// becomes the new threshold. Each candidate costs O(1) amortized (a heap would cost O(log k)
/// per accepted candidate).
///
/// Order: candidate `(s, i)` is better than `(t, j)` when `s < t`, or `s == t` and `i < j` — ties
/// are broken by the lower reference index. The order is total, so the kept set is unique.
struct TopKRow<T: BinaryFloatingPoint> {
    /// The state of a row between two calls (kept per query while the references stream by).
    struct State {
        /// Candidates held in the buffer.
        var count = 0
        /// A score no kept candidate can exceed: `+∞` at first, then the `k`-th best score at the
        /// last compaction, or a smaller proven bound (`tighten(to:)`). Candidates that tie with
        /// it are still appended; the next compaction orders them by index.
        var thresholdScore = T.infinity
    }

    /// Candidates appended between two capacity checks.
    static var chunk: Int { 64 }

    /// The slots per row of each buffer for `k` kept candidates: `2k` plus one chunk.
    static func slots(k: Int) -> Int { 2 * k + chunk }

    let scores: UnsafeMutablePointer<T>
    let indices: UnsafeMutablePointer<Int>
    let k: Int
    var state: State

    /// A row over `slots(k:)` slots of each buffer, continuing from `state`.
    init(scores: UnsafeMutablePointer<T>, indices: UnsafeMutablePointer<Int>, k: Int, state: State = State()) {
        self.scores = scores
        self.indices = indices
        self.k = k
        self.state = state
    }

    /// Offers the candidates `(row[j] + bias[j], base + j)` for `j` in `columns`, keeping those
    /// with a score `≤ min(limit, thresholdScore)`; returns how many were appended.
    ///
    /// A `limit` below the threshold drops candidates without proof that `k` better ones exist:
    /// the caller must check that at least `k` were appended under it (see
    /// `BlockedNeighbourSearch`), else start the row again with `limit = +∞`.
    @inline(__always)
    @discardableResult
    mutating func merge(row: UnsafePointer<T>, bias: UnsafePointer<T>, columns: Range<Int>, base: Int,
                        limit: T = .infinity) -> Int {
        var appended = 0
        var start = columns.lowerBound
        while start < columns.upperBound {
            if state.count > 2 * k { compact() }
            let end = Swift.min(start + Self.chunk, columns.upperBound)
            let bound = Swift.min(limit, state.thresholdScore)
            // Every candidate is written to the next free slot, and the slot is kept (the count
            // advances) only when the candidate passes: no branch on the data.
            var count = state.count
            for j in start..<end {
                let score = row[j] + bias[j]
                scores[count] = score
                indices[count] = base + j
                count += score <= bound ? 1 : 0
            }
            appended += count - state.count
            state.count = count
            start = end
        }
        return appended
    }

    /// `merge(row:bias:columns:base:limit:)` over `columns` without column `skipped` (the query
    /// itself in a leave-one-out search; nil: none), the columns before it first.
    @inline(__always)
    @discardableResult
    mutating func merge(row: UnsafePointer<T>, bias: UnsafePointer<T>, columns: Range<Int>, skipping skipped: Int?, base: Int,
                        limit: T = .infinity) -> Int {
        guard let skipped, columns.contains(skipped) else {
            return merge(row: row, bias: bias, columns: columns, base: base, limit: limit)
        }
        return merge(row: row, bias: bias, columns: columns.lowerBound..<skipped, base: base, limit: limit)
            + merge(row: row, bias: bias, columns: (skipped + 1)..<columns.upperBound, base: base, limit: limit)
    }

    /// Lowers the threshold score to `bound` when that is tighter; the caller has shown that at
    /// least `k` candidates score `≤ bound`.
    mutating func tighten(to bound: T) {
        state.thresholdScore = Swift.min(state.thresholdScore, bound)
    }

    @inline(__always)
    private func isBetter(_ a: Int, than b: Int) -> Bool {
        scores[a] < scores[b] || (scores[a] == scores[b] && indices[a] < indices[b])
    }

    @inline(__always)
    private func swap(_ a: Int, _ b: Int) {
        let s = scores[a]; scores[a] = scores[b]; scores[b] = s
        let i = indices[a]; indices[a] = indices[b]; indices[b] = i
    }

    /// Keeps the `k` best in slots `0..<k` and makes the `k`-th best the threshold.
    mutating func compact() {
        select(nth: k - 1, count: state.count)
        state.count = k
        state.thresholdScore = scores[k - 1]
    }

    /// Quickselect (median-of-three pivots): rearranges slots `0..<count` so that slot `nth`
    /// holds the candidate of rank `nth`, better ones before it and worse ones after.
    private func select(nth: Int, count: Int) {
        var low = 0, high = count - 1
        while low < high {
            let mid = low + (high - low) / 2
            if isBetter(mid, than: low) { swap(mid, low) }
            if isBetter(high, than: low) { swap(high, low) }
            if isBetter(high, than: mid) { swap(high, mid) }
            swap(mid, high)  // the median of three is the pivot, at `high`
            // Branch-free Lomuto partition: [low, store) beat the pivot, [store, j) do not.
            // Swapping unconditionally keeps that invariant (a losing a[j] trades places with a
            // losing a[store]) and avoids a mispredicted branch per element.
            let pivotScore = scores[high], pivotIndex = indices[high]
            var store = low
            for j in low..<high {
                let score = scores[j], index = indices[j]
                let beats = (score < pivotScore ? 1 : 0) | (score == pivotScore ? 1 : 0) & (index < pivotIndex ? 1 : 0)
                scores[j] = scores[store]
                indices[j] = indices[store]
                scores[store] = score
                indices[store] = index
                store += beats
            }
            swap(store, high)
            if store == nth { return }
            if nth < store { high = store - 1 } else { low = store + 1 }
        }
    }

    /// Leaves the `min(k, count)` best candidates in the first slots, replaces each kept score
    /// `s` by `transform(s)` (non-decreasing, e.g. score → distance), and orders the first
    /// `sorted` of them (all when `sorted ≥ k`) best first by (transformed score, index); returns
    /// how many are kept. Sorting only the prefix a caller needs saves most of the work when `k`
    /// is large.
    mutating func finish(sorted: Int = .max, transform: (T) -> T = { $0 }) -> Int {
        if state.count > k { compact() }
        let kept = state.count
        for j in 0..<kept { scores[j] = transform(scores[j]) }
        let n = Swift.min(sorted, kept)
        if n < kept, n > 0 { select(nth: n - 1, count: kept) }
        // Heap sort: build a max-heap (worst on top), then move the worst to the end repeatedly.
        for start in stride(from: n / 2 - 1, through: 0, by: -1) { siftDown(start, limit: n) }
        var end = n
        while end > 1 {
            end -= 1
            swap(0, end)
            siftDown(0, limit: end)
        }
        return kept
    }

    private func siftDown(_ start: Int, limit: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < limit else { return }
            var worst = left
            if left + 1 < limit, isBetter(left, than: left + 1) { worst = left + 1 }
            guard isBetter(parent, than: worst) else { return }
            swap(worst, parent)
            parent = worst
        }
    }
}
