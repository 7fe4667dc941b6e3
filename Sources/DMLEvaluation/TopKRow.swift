/// The `capacity` best (smallest score) candidates seen so far for one query, kept as a binary
/// max-heap over caller-owned storage, so a whole block of queries shares two flat buffers and
/// no candidate allocates.
///
/// Order: candidate `(s, i)` is better than `(t, j)` when `s < t`, or `s == t` and `i < j` — ties
/// are broken by the lower reference index, deterministically.
struct TopKRow<T: BinaryFloatingPoint> {
    let scores: UnsafeMutablePointer<T>
    let indices: UnsafeMutablePointer<Int>
    let capacity: Int
    /// How many candidates are kept (at most `capacity`).
    private(set) var count: Int

    /// A row over `capacity` slots of each buffer, of which the first `count` already form a heap.
    init(scores: UnsafeMutablePointer<T>, indices: UnsafeMutablePointer<Int>, capacity: Int, count: Int = 0) {
        self.scores = scores
        self.indices = indices
        self.capacity = capacity
        self.count = count
    }

    /// The score a new candidate must not exceed to have a chance: the worst kept score once
    /// the row is full, `+∞` before.
    @inline(__always)
    var threshold: T { count == capacity ? scores[0] : .infinity }

    @inline(__always)
    private func isWorse(_ a: Int, than b: Int) -> Bool {
        scores[a] > scores[b] || (scores[a] == scores[b] && indices[a] > indices[b])
    }

    /// Keeps `(score, index)` if it is among the `capacity` best seen so far.
    @inline(__always)
    mutating func offer(score: T, index: Int) {
        if count < capacity {
            scores[count] = score
            indices[count] = index
            count += 1
            siftUp(count - 1)
        } else if capacity > 0, score < scores[0] || (score == scores[0] && index < indices[0]) {
            scores[0] = score
            indices[0] = index
            siftDown(0, limit: count)
        }
    }

    private func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard isWorse(child, than: parent) else { return }
            swap(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int, limit: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < limit else { return }
            var worst = left
            if left + 1 < limit, isWorse(left + 1, than: left) { worst = left + 1 }
            guard isWorse(worst, than: parent) else { return }
            swap(worst, parent)
            parent = worst
        }
    }

    @inline(__always)
    private func swap(_ a: Int, _ b: Int) {
        let s = scores[a]; scores[a] = scores[b]; scores[b] = s
        let i = indices[a]; indices[a] = indices[b]; indices[b] = i
    }

    /// Rearranges the kept candidates best first (heap sort); the row is no longer a heap.
    mutating func sortBestFirst() {
        var end = count
        while end > 1 {
            end -= 1
            swap(0, end)
            siftDown(0, limit: end)
        }
    }
}
