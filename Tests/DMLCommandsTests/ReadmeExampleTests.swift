import Testing
import SwiftMetricLearning

/// The library example of README.md, run on a small generated batch.
@Suite struct ReadmeExampleTests {
    @Test func libraryExampleRuns() throws {
        var rng = SeededGenerator(seed: 1)
        let x: Matrix<Float> = rng.normalMatrix(rows: 8, columns: 4)
        let labels = [0, 0, 1, 1, 2, 2, 3, 3]
        let loss = LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .ee)
        let output = try loss.evaluate(x, labels: labels)
        #expect(output.value.isFinite && output.gradient.rows == 8 && output.syntheticFraction != nil)

        let testEmbeddings: Matrix<Float> = rng.normalMatrix(rows: 12, columns: 4)
        let testLabels = (0..<12).map { $0 / 3 }
        let result = try evaluate(embeddings: testEmbeddings, labels: testLabels)
        #expect(result.recall(at: 1) != nil)
        #expect((0...1).contains(result.retrieval.mapAtR) && (0...1).contains(result.clustering!.nmi))
    }
}
