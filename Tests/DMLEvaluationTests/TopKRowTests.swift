import DMLNumerics
import Testing
@testable import DMLEvaluation

@Suite("Partial top-K selection")
struct TopKRowTests {
    @Test("Keeps exactly the k best by (score, index), merged in pieces of any size, with many ties", arguments: [1, 2, 3, 7, 50])
    func matchesSorting(k: Int) {
        var generator = SeededGenerator(seed: UInt64(k))
        for trial in 0..<20 {
            let n = k + generator.nextInt(below: 400)
            // Scores row[j] + bias[j] from a small set of exact integers, so ties are everywhere.
            let row = (0..<n).map { _ in Float(generator.nextInt(below: 4)) }
            let bias = (0..<n).map { _ in Float(generator.nextInt(below: 3)) }
            let slots = TopKRow<Float>.slots(k: k)
            var bufferScores = [Float](repeating: 0, count: slots)
            var bufferIndices = [Int](repeating: 0, count: slots)
            let base = 1000 * trial
            let kept = bufferScores.withUnsafeMutableBufferPointer { sp in
                bufferIndices.withUnsafeMutableBufferPointer { ip in
                    var topK = TopKRow(scores: sp.baseAddress!, indices: ip.baseAddress!, k: k)
                    var start = 0
                    while start < n {
                        let end = Swift.min(n, start + 1 + generator.nextInt(below: 3 * TopKRow<Float>.chunk))
                        topK.merge(row: row, bias: bias, columns: start..<end, base: base)
                        #expect(topK.state.count <= slots)
                        start = end
                    }
                    let count = topK.finish()
                    return Array(ip[0..<count])
                }
            }
            let expected = (0..<n).sorted { a, b in
                let sa = row[a] + bias[a], sb = row[b] + bias[b]
                return sa < sb || (sa == sb && a < b)
            }.prefix(k).map { base + $0 }
            #expect(kept == expected, "trial \(trial)")
        }
    }

    @Test("A limit drops the candidates above it; merge reports how many it kept")
    func limit() {
        let row: [Float] = [5, 1, 4, 2, 3, 2, 6]
        let bias = [Float](repeating: 0, count: row.count)
        var scores = [Float](repeating: 0, count: TopKRow<Float>.slots(k: 2))
        var indices = [Int](repeating: 0, count: TopKRow<Float>.slots(k: 2))
        scores.withUnsafeMutableBufferPointer { sp in
            indices.withUnsafeMutableBufferPointer { ip in
                var topK = TopKRow(scores: sp.baseAddress!, indices: ip.baseAddress!, k: 2)
                #expect(topK.merge(row: row, bias: bias, columns: 0..<row.count, base: 10, limit: 2) == 3)
                topK.tighten(to: 2)
                #expect(topK.state.thresholdScore == 2)
                topK.tighten(to: 7)
                #expect(topK.state.thresholdScore == 2)
                #expect(topK.finish() == 2)
                #expect(Array(ip[0..<2]) == [11, 13])
                #expect(Array(sp[0..<2]) == [1, 2])
            }
        }
    }
}
