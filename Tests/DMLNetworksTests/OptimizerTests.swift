import Testing
import DMLNetworks
import DMLNumerics

/// Optimizer steps against values computed by hand (reference numbers from a direct scalar
/// transcription of PyTorch's update rules, quoted in the comments).
@Suite struct OptimizerTests {
    /// A model holding one `1 × 2` weight `[1, −2]`.
    static func parameterHolder() -> Linear<Double> {
        Linear<Double>(weight: Matrix([[1, -2]]), bias: nil)
    }

    /// Runs `optimizer` over the gradient sequence `[[0.5, 0.25], [−1, 0.25]]`.
    static func run<O: Optimizer>(_ optimizer: inout O, on model: Linear<Double>) where O.Scalar == Double {
        for g in [[0.5, 0.25], [-1.0, 0.25]] {
            model.weightGradient = Matrix([g])
            optimizer.step(model)
        }
    }

    static func expectWeights(_ model: Linear<Double>, _ expected: [Double], tolerance: Double = 1e-12) {
        #expect(abs(model.weight[0, 0] - expected[0]) < tolerance, "w0 = \(model.weight[0, 0]), expected \(expected[0])")
        #expect(abs(model.weight[0, 1] - expected[1]) < tolerance, "w1 = \(model.weight[0, 1]), expected \(expected[1])")
    }

    @Test func adamFirstStepMovesByTheLearningRate() {
        // t = 1: m̂ = g, v̂ = g², so w ← w − η g/(|g| + ε) = w − η·sign(g) up to ε.
        let model = Self.parameterHolder()
        var adam = Adam<Double>(learningRate: 0.1)
        model.weightGradient = Matrix([[0.5, 0.25]])
        adam.step(model)
        Self.expectWeights(model, [1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 - 0.1 * 0.25 / (0.25 + 1e-8)])
    }

    @Test func adamTwoSteps() {
        // Step 2 of w0: m = 0.9·0.05 − 0.1 = −0.055, v = 0.999·0.00025 + 0.001 = 0.00124975,
        // m̂ = −0.055/0.19, v̂ = 0.00124975/0.001999: w = 0.9 + 0.1·0.289474/0.790688 = 0.93661035…
        let model = Self.parameterHolder()
        var adam = Adam<Double>(learningRate: 0.1)
        Self.run(&adam, on: model)
        Self.expectWeights(model, [0.9366103542405654, -2.1999999919999995])
        #expect(adam.stepCount == 2)
    }

    @Test func adamCoupledAndDecoupledDecay() {
        let coupled = Self.parameterHolder()
        var adam = Adam<Double>(learningRate: 0.1, weightDecay: .coupled(0.1))
        Self.run(&adam, on: coupled)
        Self.expectWeights(coupled, [0.9252635194456061, -2.198812538982845])
        let decoupled = Self.parameterHolder()
        var adamW = Adam<Double>(learningRate: 0.1, weightDecay: .decoupled(0.1))
        Self.run(&adamW, on: decoupled)
        Self.expectWeights(decoupled, [0.9177103542205653, -2.1591999920399996])
    }

    @Test func sgdMomentum() {
        // w0: b = 0.5, w = 0.95; b = 0.9·0.5 − 1 = −0.55, w = 0.95 + 0.055 = 1.005.
        let model = Self.parameterHolder()
        var sgd = SGD<Double>(learningRate: 0.1, momentum: 0.9)
        Self.run(&sgd, on: model)
        Self.expectWeights(model, [1.005, -2.0725])
    }

    @Test func sgdNesterovWithCoupledDecay() {
        let model = Self.parameterHolder()
        var sgd = SGD<Double>(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: .coupled(0.01))
        Self.run(&sgd, on: model)
        Self.expectWeights(model, [1.05007411, -2.1059469699999998])
    }

    @Test func plainSGDAndGroupMultipliers() {
        // No momentum: w ← w − η·m·g with the group multiplier m = 10 on "weight", decay excluded.
        let model = Self.parameterHolder()
        var sgd = SGD<Double>(learningRate: 0.01, momentum: 0, weightDecay: .coupled(0.5),
                              groups: [ParameterGroup(namePrefix: "weight", learningRateMultiplier: 10, weightDecayMultiplier: 0)])
        model.weightGradient = Matrix([[0.5, 0.25]])
        sgd.step(model)
        Self.expectWeights(model, [1 - 0.1 * 0.5, -2 - 0.1 * 0.25])
        let other = Self.parameterHolder()
        var ungrouped = SGD<Double>(learningRate: 0.01, momentum: 0, weightDecay: .coupled(0.5),
                                    groups: [ParameterGroup(namePrefix: "embedding.", learningRateMultiplier: 10)])
        other.weightGradient = Matrix([[0.5, 0.25]])
        ungrouped.step(other)
        Self.expectWeights(other, [1 - 0.01 * (0.5 + 0.5), -2 - 0.01 * (0.25 - 1)])
    }

    @Test func floatAdamAgreesWithDouble() {
        let model = Linear<Float>(weight: Matrix([[1, -2]]), bias: nil)
        var adam = Adam<Float>(learningRate: 0.1)
        for g: [Float] in [[0.5, 0.25], [-1.0, 0.25]] {
            model.weightGradient = Matrix([g])
            adam.step(model)
        }
        #expect(abs(Double(model.weight[0, 0]) - 0.9366103542405654) < 1e-6)
    }

    @Test func stateRoundTripContinuesIdentically() throws {
        let a = Self.parameterHolder(), b = Self.parameterHolder()
        var adamA = Adam<Double>(learningRate: 0.1), adamB = Adam<Double>(learningRate: 0.1)
        Self.run(&adamA, on: a)
        Self.run(&adamB, on: b)
        var archive = TensorArchive<Double>()
        adamA.exportState(into: &archive, prefix: "optimizer.")
        var restored = Adam<Double>(learningRate: 0.1)
        try restored.importState(from: TensorArchive(decoding: archive.encoded()), prefix: "optimizer.", model: b)
        #expect(restored.stepCount == 2)
        a.weightGradient = Matrix([[0.3, -0.7]])
        b.weightGradient = Matrix([[0.3, -0.7]])
        adamA.step(a)
        restored.step(b)
        #expect(a.weight == b.weight)

        var sgd = SGD<Double>(learningRate: 0.1)
        Self.run(&sgd, on: a)
        var sgdArchive = TensorArchive<Double>()
        sgd.exportState(into: &sgdArchive, prefix: "")
        #expect(sgdArchive.tensors.keys.sorted() == ["momentum.weight"])
        var sgdRestored = SGD<Double>(learningRate: 0.1)
        try sgdRestored.importState(from: sgdArchive, prefix: "", model: a)
        #expect(sgdRestored.stepCount == 2)
        var empty = TensorArchive<Double>()
        empty.integers["step"] = 2
        #expect(throws: TensorArchiveError.missing(name: "momentum.weight")) {
            try sgdRestored.importState(from: empty, prefix: "", model: a)
        }
    }

    /// What Adam and SGD share (`OptimizerState`): the checkpoint keys, shape checks that change
    /// nothing on failure, no state without momentum, and the same numbers over a pool.
    @Test func perParameterStateIsHandledAlikeByBothOptimizers() throws {
        let model = Self.parameterHolder()
        var adam = Adam<Double>(learningRate: 0.1)
        Self.run(&adam, on: model)
        var archive = TensorArchive<Double>()
        adam.exportState(into: &archive, prefix: "opt.")
        #expect(archive.tensors.keys.sorted() == ["opt.m.weight", "opt.v.weight"] && archive.integers == ["opt.step": 2])
        // A moment of the wrong shape is refused and the optimizer keeps its state.
        var wrong = archive
        wrong.tensors["opt.v.weight"] = Matrix([[1], [2]])
        var fresh = Adam<Double>(learningRate: 0.1)
        #expect(throws: TensorArchiveError.self) { try fresh.importState(from: wrong, prefix: "opt.", model: model) }
        #expect(fresh.stepCount == 0)
        var written = TensorArchive<Double>()
        fresh.exportState(into: &written, prefix: "opt.")
        #expect(written.tensors.isEmpty && written.integers == ["opt.step": 0])

        // SGD without momentum keeps nothing and needs nothing to resume.
        var plain = SGD<Double>(learningRate: 0.1, momentum: 0)
        Self.run(&plain, on: model)
        var plainArchive = TensorArchive<Double>()
        plain.exportState(into: &plainArchive, prefix: "")
        #expect(plainArchive.tensors.isEmpty && plainArchive.integers == ["step": 2])
        var resumed = SGD<Double>(learningRate: 0.1, momentum: 0)
        try resumed.importState(from: plainArchive, prefix: "", model: model)
        #expect(resumed.stepCount == 2)

        // A tensor larger than the elementwise grain, split over two threads: the same numbers.
        var generator = SeededGenerator(seed: 5)
        let weights: Matrix<Double> = generator.normalMatrix(rows: 300, columns: 200)
        let gradients: Matrix<Double> = generator.normalMatrix(rows: 300, columns: 200)
        let serial = Linear<Double>(weight: weights, bias: nil), split = Linear<Double>(weight: weights, bias: nil)
        var serialAdam = Adam<Double>(learningRate: 0.01), splitAdam = Adam<Double>(learningRate: 0.01, pool: ThreadPool(threads: 2))
        var serialSGD = SGD<Double>(learningRate: 0.01, nesterov: true), splitSGD = SGD<Double>(learningRate: 0.01, nesterov: true, pool: ThreadPool(threads: 2))
        for _ in 0..<2 {
            serial.weightGradient = gradients
            split.weightGradient = gradients
            serialAdam.step(serial)
            splitAdam.step(split)
            serialSGD.step(serial)
            splitSGD.step(split)
        }
        #expect(serial.weight == split.weight && serial.weight != weights)
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant.learningRate(base: 0.1, step: 1000) == 0.1)
        let step = LearningRateSchedule.step(every: 10, factor: 0.5)
        #expect(step.learningRate(base: 0.1, step: 9) == 0.1)
        #expect(step.learningRate(base: 0.1, step: 10) == 0.05)
        #expect(step.learningRate(base: 0.1, step: 25) == 0.025)
        let cosine = LearningRateSchedule.cosine(totalSteps: 100, minimumFactor: 0.1)
        #expect(abs(cosine.learningRate(base: 1, step: 0) - 1) < 1e-15)
        #expect(abs(cosine.learningRate(base: 1, step: 50) - 0.55) < 1e-15)
        #expect(abs(cosine.learningRate(base: 1, step: 100) - 0.1) < 1e-15)
        #expect(abs(cosine.learningRate(base: 1, step: 200) - 0.1) < 1e-15)
        // cos(π/4): η = 0.1 + 0.9·(1 + √½)/2
        #expect(abs(cosine.learningRate(base: 1, step: 25) - (0.1 + 0.9 * (1 + 0.5.squareRoot()) / 2)) < 1e-12)
    }
}
