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

    /// The examples in the doc comments of `Layer` and `evaluate(embeddings:labels:options:pool:)`.
    @Test func docCommentExamplesRun() throws {
        var rng = SeededGenerator(seed: 1)
        let model = Sequential<Float>([Linear(4, 8, generator: &rng), ReLU(), Linear(8, 2, generator: &rng)])
        let batch = Tensor(rng.normalMatrix(rows: 5, columns: 4) as Matrix<Float>)
        let output = model.forward(batch, training: true)
        #expect(output.values.rows == 5 && output.values.columns == 2)
        model.zeroGradients()
        let inputGradient = model.backward(Tensor(Matrix<Float>(rows: 5, columns: 2, repeating: 1)))
        #expect(inputGradient.values.rows == 5 && inputGradient.values.columns == 4)

        let embeddings: Matrix<Float> = rng.normalMatrix(rows: 12, columns: 4)
        let labels = (0..<12).map { $0 / 3 }
        var options = EvaluationOptions(recallKs: [1, 2], clustering: true)
        options.seed = 7
        let result = try evaluate(embeddings: embeddings, labels: labels, options: options)
        #expect(result.metricValues.keys.sorted() == ["f1", "map@r", "nmi", "r_precision", "recall@1", "recall@2"])
    }
}
