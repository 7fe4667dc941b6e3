import Foundation
import Testing
@testable import DMLEvaluation
import DMLBenchmarks

@Suite("dml bench eval driver")
struct EvaluationBenchmarkTests {
    @Test("Search-only runs time the search against its GEMM pass and skip k-means")
    func searchOnly() throws {
        var rows = [EvaluationBenchmark.Row]()
        let configuration = EvaluationBenchmark.Configuration(sizes: [120], dimension: 8, extraClusterCounts: [5],
                                                              recallKs: [1, 50], threads: 2, clustering: false)
        try EvaluationBenchmark.run(configuration) { rows.append($0) }
        #expect(rows.map(\.stage) == ["search", "full evaluation"])
        #expect(rows.allSatisfy { $0.items == 120 && $0.dimension == 8 })
        // Both timings measured something (a broken clock or a skipped pass gives 0 or NaN).
        #expect(rows[0].gemmSeconds.map { $0 > 0 && $0.isFinite } == true && rows[0].seconds > 0 && rows[1].seconds > 0)
        // The metrics are those of evaluating the same generated embeddings directly.
        let classes = Int((120 / configuration.itemsPerClass).rounded())
        let data = ClusteredEmbeddings(count: 120, classes: classes, dimension: 8, spread: configuration.spread,
                                       seed: configuration.seed)
        let direct = try evaluate(embeddings: data.embeddings, labels: data.labels,
                                  options: EvaluationOptions(recallKs: [1, 50], clustering: false))
        let r1 = String(format: "%.4f", direct.recall(at: 1)!), r50 = String(format: "%.4f", direct.recall(at: 50)!)
        let map = String(format: "%.4f", direct.retrieval.mapAtR)
        #expect(rows[0].metrics.hasPrefix("R@1 \(r1), R@50 \(r50), MAP@R \(map)"), "\(rows[0].metrics)")
        #expect(rows[1].clusters == nil && rows[1].metrics == "search only")
    }
}
