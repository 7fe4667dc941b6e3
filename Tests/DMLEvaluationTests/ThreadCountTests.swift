import DMLNumerics
import Testing
@testable import DMLEvaluation
import DMLBenchmarks

/// Evaluation promises the same numbers at every thread count: the GEMM tiles and blocks have
/// shapes that do not depend on it, and every per-query and per-point result is written by one
/// worker.
@Suite("Evaluation across thread counts")
struct ThreadCountTests {
    @Test("evaluate gives identical retrieval scores, k-means assignments and NMI/F1 on 1, 2 and 3 threads, run after run")
    func evaluationIsThreadCountFree() throws {
        // 700 queries: three 256-query tiles per block, so the workers really split the search.
        let data = ClusteredEmbeddings(count: 700, classes: 60, dimension: 24, spread: 2.0, seed: 4)
        var options = EvaluationOptions(recallKs: [1, 2, 4, 8])
        options.search.referenceBlockSize = 300  // several reference blocks per tile
        options.kMeans.pointBlockSize = 100
        var reference: EvaluationResult? = nil
        for threads in [1, 2, 3, 1, 2] {
            var result = try evaluate(embeddings: data.embeddings, labels: data.labels, options: options,
                                      pool: ThreadPool(threads: threads))
            result.searchSeconds = 0
            result.clusteringSeconds = 0
            if let reference { #expect(result == reference, "threads \(threads)") } else { reference = result }
        }
        #expect(reference?.clusterAssignments?.count == 700)
    }

    @Test("Float neighbour lists are bit-identical on 1, 2 and 4 threads, leave-one-out and separate sets")
    func neighboursAreThreadCountFree() throws {
        var generator = SeededGenerator(seed: 8)
        let x: Matrix<Float> = generator.normalMatrix(rows: 600, columns: 16)
        let y: Matrix<Float> = generator.normalMatrix(rows: 333, columns: 16)
        // 64-row tiles: the symmetric leave-one-out search runs 10 blocks in 9 rounds.
        let options = NeighbourSearchOptions(queryBlockSize: 512, referenceBlockSize: 128, symmetricTileSize: 64)
        let loo = try NearestNeighbours.leaveOneOut(x, k: 7, options: options, pool: ThreadPool(threads: 1))
        let separate = try NearestNeighbours.search(queries: x, references: y, k: 5, options: options, pool: ThreadPool(threads: 1))
        for threads in [2, 4] {
            #expect(try NearestNeighbours.leaveOneOut(x, k: 7, options: options, pool: ThreadPool(threads: threads)) == loo)
            #expect(try NearestNeighbours.search(queries: x, references: y, k: 5, options: options,
                                                 pool: ThreadPool(threads: threads)) == separate)
        }
    }

    @Test("k-means on a pool equals k-means with threads in its options, at every thread count")
    func kMeansIsThreadCountFree() throws {
        let data = ClusteredEmbeddings(count: 500, classes: 40, dimension: 12, spread: 1.5, seed: 6)
        let options = KMeansOptions(seed: 2, pointBlockSize: 64, threads: 1)
        let serial = try KMeans.run(data.embeddings, clusters: 40, options: options)
        for threads in [2, 3] {
            #expect(try KMeans.run(data.embeddings, clusters: 40, options: options, pool: ThreadPool(threads: threads)) == serial)
        }
    }
}
