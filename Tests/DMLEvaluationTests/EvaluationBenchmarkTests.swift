import Testing
@testable import DMLEvaluation

@Suite("dml bench eval driver")
struct EvaluationBenchmarkTests {
    @Test("Search-only runs time the search against its GEMM pass and skip k-means")
    func searchOnly() throws {
        var rows = [EvaluationBenchmark.Row]()
        let configuration = EvaluationBenchmark.Configuration(sizes: [120], dimension: 8, extraClusterCounts: [5],
                                                              recallKs: [1, 50], threads: 2, clustering: false)
        try EvaluationBenchmark.run(configuration) { rows.append($0) }
        #expect(rows.map(\.stage) == ["search", "full evaluation"])
        #expect(rows[0].gemmSeconds.map { $0 >= 0 } == true && rows[0].seconds >= 0)
        #expect(rows[0].metrics.hasPrefix("R@1 ") && rows[0].metrics.contains(", R@50 ") && rows[0].metrics.contains("MAP@R"))
        #expect(rows[1].clusters == nil && rows[1].metrics == "search only")
    }
}
