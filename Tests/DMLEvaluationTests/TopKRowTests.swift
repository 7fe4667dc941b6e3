import DMLNumerics
import Testing
@testable import DMLEvaluation

@Suite("Partial top-K selection")
struct TopKRowTests {
    @Test("Keeps exactly the k best by (score, index), in any arrival order, with many ties", arguments: [1, 2, 3, 7, 50])
    func matchesSorting(k: Int) {
        var generator = SeededGenerator(seed: UInt64(k))
        for trial in 0..<20 {
            let n = k + generator.nextInt(below: 200)
            // Scores from a small set, so ties are everywhere; indices arrive shuffled.
            let scores = (0..<n).map { _ in Float(generator.nextInt(below: 6)) }
            let order = generator.shuffled(0..<n)
            var bufferScores = [Float](repeating: 0, count: 2 * k)
            var bufferIndices = [Int](repeating: 0, count: 2 * k)
            let kept = bufferScores.withUnsafeMutableBufferPointer { sp in
                bufferIndices.withUnsafeMutableBufferPointer { ip in
                    var row = TopKRow(scores: sp.baseAddress!, indices: ip.baseAddress!, k: k)
                    for i in order { row.offer(score: scores[i], index: i) }
                    let count = row.finish()
                    return Array(zip(sp[0..<count], ip[0..<count]).map { $0.1 })
                }
            }
            let expected = (0..<n).sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(k)
            #expect(kept == Array(expected), "trial \(trial)")
        }
    }
}
