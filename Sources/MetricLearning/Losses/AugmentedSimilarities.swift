import DMLNumerics

/// The shared first and last steps of the similarity-based HNPM losses (N-pair, angular,
/// multi-similarity): augment the batch and form the Gram matrix `G` of the augmented set; at the
/// end, carry `∂L/∂G` back to the originals (`(W + Wᵀ) P` by one GEMM, then through the synthesis).
struct AugmentedSimilarities<T: BLASScalar> {
    /// The originals and the synthetic points.
    let batch: AugmentedBatch<T>
    /// `G` (and the distances) of `batch.points` against themselves and the memory:
    /// `A × (A + N)`.
    let geometry: ReferenceGeometry<T>
    /// The labels of the memory columns.
    let memoryLabels: [Int]

    /// Augments `embeddings` with `synthesis` and measures the augmented set against itself and
    /// `memory` (only batch pairs synthesize points; memory points are constant references), on
    /// `pool` (`ReferenceGeometry`).
    init(_ embeddings: Matrix<T>, labels: [Int], synthesis: any EmbeddingSynthesis, memory: MemoryPoints<T>? = nil,
         pool: ThreadPool? = nil) throws {
        try memory?.requireDimension(embeddings.columns)
        batch = try synthesis.augment(embeddings, labels: labels)
        geometry = ReferenceGeometry(batch.points, memory: memory?.embeddings, distances: false, squared: false, pool: pool)
        memoryLabels = memory?.labels ?? []
    }

    /// The number of columns of `G` (augmented points, then memory points): its row stride.
    var size: Int { geometry.columns }

    /// The label of every column: the augmented set's, then the memory's.
    var columnLabels: [Int] { memoryLabels.isEmpty ? batch.labels : batch.labels + memoryLabels }

    /// A zero `A × (A + N)` weight matrix.
    func makeWeights() -> Matrix<T> { Matrix(rows: batch.points.rows, columns: geometry.columns) }

    /// The hardest pairs `(p, n)` of `hard` as flat indices `p·N + n` into `G`: one list per row of
    /// `hard`, one entry per negative class in ascending class order.
    func chosenPairEntries(_ hard: HardNegativePairs<T>) -> IndexLists {
        let n = size, classCount = hard.classes.count
        var lists = IndexLists(reservingLists: hard.rows, values: hard.rows * classCount)
        for r in 0..<hard.rows {
            for c in 0..<classCount where hard.isNegative(row: r, column: c) {
                lists.append(hard.groupPoint[r * classCount + c] * n + hard.classPoint[r * classCount + c])
            }
            lists.closeList()
        }
        return lists
    }

    /// The loss `value` with `∂L/∂X` from `∂L/∂G` over the augmented set, and the synthetic
    /// fraction when there are synthetic points (`nil` otherwise).
    func output(value: T, gramGradient: Matrix<T>, syntheticFraction: Double) -> LossOutput<T> {
        LossOutput(value: value, gradient: batch.backward(geometry.backward(gram: gramGradient)),
                   syntheticFraction: batch.syntheticCount > 0 ? syntheticFraction : nil)
    }
}
