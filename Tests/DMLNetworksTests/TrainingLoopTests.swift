import Testing
import DMLNetworks
import DMLNumerics

/// Layers, optimizers and schedules together: a few hundred steps fit a small regression.
@Suite struct TrainingLoopTests {
    static func loss(_ y: Matrix<Double>, _ t: Matrix<Double>) -> Double {
        zip(y.elements, t.elements).reduce(0) { $0 + 0.5 * ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(y.rows)
    }

    @Test(arguments: ["adam", "adamw", "sgd"])
    func fitsASmallRegression(optimizerName: String) {
        let model: Sequential<Double> = ModelPresets.mlp(inputDimension: 3, hiddenDimensions: [16], embeddingDimension: 2,
                                                         normalize: false, seed: 5)
        var rng = SeededGenerator(seed: 6)
        let x: Matrix<Double> = rng.normalMatrix(rows: 32, columns: 3)
        // Target: a fixed nonlinear function of the input.
        let t = Matrix<Double>(rows: 32, columns: 2) { i, j in
            j == 0 ? max(0, x[i, 0] + x[i, 1]) : x[i, 2] * 0.5 - max(0, x[i, 1])
        }
        var optimizer: any Optimizer<Double> = switch optimizerName {
        case "adam": Adam<Double>(learningRate: 1e-2)
        case "adamw": Adam<Double>(learningRate: 1e-2, weightDecay: .decoupled(1e-3))
        default: SGD<Double>(learningRate: 5e-2, momentum: 0.9, weightDecay: .coupled(1e-4))
        }
        let schedule = LearningRateSchedule.cosine(totalSteps: 300, minimumFactor: 0.1)
        let base = optimizer.learningRate
        let initial = Self.loss(model.forward(Tensor(x), training: false).values, t)
        for step in 0..<300 {
            model.zeroGradients()
            let y = model.forward(Tensor(x), training: true)
            var g = y.values
            g.add(t, scaledBy: -1)
            _ = model.backward(Tensor((1.0 / 32) * g))
            optimizer.learningRate = schedule.learningRate(base: base, step: step)
            optimizer.step(model)
        }
        let final = Self.loss(model.forward(Tensor(x), training: false).values, t)
        #expect(final < initial / 10, "loss \(initial) → \(final)")
        #expect(optimizer.stepCount == 300)
    }
}
