import DMLNumerics

/// The column labels and pair counts of a batch against a memory (for the plain losses).
struct MemoryPairs {
    /// The batch labels, then the memory labels: the label of every reference column.
    let columnLabels: [Int]
    /// The number of (batch row, memory row) pairs with the same label.
    let positivePairCount: Int
    /// The number of (batch row, memory row) pairs with different labels.
    let negativePairCount: Int

    /// The pairs of `labels` (the batch) against `memory` (none when nil or empty).
    init<T>(labels: [Int], memory: MemoryPoints<T>?) {
        guard let memory, !memory.isEmpty else {
            columnLabels = labels
            positivePairCount = 0
            negativePairCount = 0
            return
        }
        columnLabels = labels + memory.labels
        var memoryCount = [Int: Int]()
        for y in memory.labels { memoryCount[y, default: 0] += 1 }
        let positives = labels.reduce(0) { $0 + (memoryCount[$1] ?? 0) }
        positivePairCount = positives
        negativePairCount = labels.count * memory.count - positives
    }
}
