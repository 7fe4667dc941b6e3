import Testing
import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// Frozen batch-norm statistics and frozen parameters: what is computed, what is updated, and
/// where backward stops.
@Suite struct FreezingTests {
    static func batchNorm(seed: UInt64) -> BatchNorm<Double> {
        let layer = BatchNorm<Double>(channels: 3, momentum: 0.01, epsilon: 1e-3)
        var rng = SeededGenerator(seed: seed)
        layer.gamma = rng.normalMatrix(rows: 1, columns: 3)
        layer.beta = rng.normalMatrix(rows: 1, columns: 3)
        layer.runningMean = rng.normalMatrix(rows: 1, columns: 3)
        layer.runningVariance = rng.uniformMatrix(rows: 1, columns: 3, low: 0.5, high: 2)
        return layer
    }

    @Test func frozenStatisticsAreUsedInTrainingAndNotUpdated() {
        let layer = Self.batchNorm(seed: 1)
        layer.freezesStatistics = true
        let x = randomTensor(batch: 4, shape: TensorShape(channels: 3, height: 2, width: 2), seed: 2)
        let before = (layer.runningMean, layer.runningVariance)
        let training = layer.forward(x, training: true)
        #expect(layer.runningMean == before.0 && layer.runningVariance == before.1)
        #expect(training == layer.forward(x, training: false))
        // y = γ (x − μ̄)/√(σ̄² + ε) + β, with ε = 1e-3.
        let c = 1, q = 2
        let expected = layer.gamma[0, c] * (x.values[3, c * 4 + q] - before.0[0, c]) / (before.1[0, c] + 1e-3).squareRoot() + layer.beta[0, c]
        #expect(abs(training.values[3, c * 4 + q] - expected) < 1e-12)
        // The gradient is γ r g.
        let g = randomTensor(batch: 4, shape: x.shape, seed: 3)
        let dx = layer.backward(g)
        let r = 1 / (before.1[0, c] + 1e-3).squareRoot()
        #expect(abs(dx.values[2, c * 4 + q] - layer.gamma[0, c] * r * g.values[2, c * 4 + q]) < 1e-12)
        let check = LayerGradientCheck(layer, input: x, training: true)
        #expect(check.worst < LayerGradientTests.tolerance)
    }

    @Test func momentumAndEpsilonAreTheLayersOwn() {
        let layer = BatchNorm<Double>(channels: 1, momentum: 0.01, epsilon: 1e-3)
        let x = Tensor(Matrix<Double>([[1, 3], [5, 7]]), shape: TensorShape(channels: 1, height: 1, width: 2))
        let y = layer.forward(x, training: true)
        // μ = 4, σ² = 5 (biased), unbiased 20/3.
        #expect(abs(layer.runningMean[0, 0] - 0.04) < 1e-12)
        #expect(abs(layer.runningVariance[0, 0] - (0.99 + 0.01 * 20 / 3)) < 1e-12)
        #expect(abs(y.values[0, 0] - (1 - 4) / (5 + 1e-3).squareRoot()) < 1e-12)
    }

    @Test func freezeAllBatchNormStatisticsOfAModel() {
        let model = Blocks.resnet(seed: 4)
        model.freezeBatchNormStatistics()
        var count = 0
        model.visitDescendants { _, layer in
            if let bn = layer as? BatchNorm<Double> { #expect(bn.freezesStatistics); count += 1 }
        }
        #expect(count == 10)
        let state = model.exportState()
        _ = model.forward(randomTensor(batch: 2, shape: TensorShape(channels: 3, height: 12, width: 12), seed: 5), training: true)
        #expect(model.exportState() == state)
    }

    @Test func aFrozenPrefixGetsNoBackwardNoGradientAndNoUpdate() throws {
        let spy = BackwardCounter<Double>(), middle = BackwardCounter<Double>()
        var g = SeededGenerator(seed: 6)
        let model = Sequential<Double>(named: [
            ("spy", spy),
            ("conv1", Conv2D<Double>(3, 4, kernelSize: 3, padding: 1, generator: &g)),
            ("bn1", BatchNorm<Double>(channels: 4)),
            ("middle", middle),
            ("block", Blocks.basic(4, 4, stride: 1, generator: &g)),
            ("pool", GlobalAvgPool<Double>()),
            ("fc", Linear<Double>(4, 3, generator: &g)),
        ])
        model.computesInputGradient = false
        try model.freeze(through: "block.bn1")
        #expect(model.descendant(at: "conv1")!.isFrozen && model.descendant(at: "block.conv1")!.isFrozen)
        #expect(model.descendant(at: "block.bn1")!.isFrozen && !model.descendant(at: "block.conv2")!.isFrozen)
        #expect(!model.isFrozen && !model.descendant(at: "block")!.isFrozen)
        let trainable = Set({ var names: [String] = []; model.visitTrainableParameters { n, _, _ in names.append(n) }; return names }())
        #expect(trainable == ["block.conv2.weight", "block.bn2.weight", "block.bn2.bias", "fc.weight", "fc.bias"])

        let x = randomTensor(batch: 2, shape: TensorShape(channels: 3, height: 4, width: 4), seed: 7)
        let before = model.exportState()
        var optimizer = Adam<Double>(learningRate: 0.01)
        for _ in 0..<2 {
            model.zeroGradients()
            let y = model.forward(x, training: true)
            _ = model.backward(Tensor(Matrix(rows: 2, columns: 3, repeating: 1), shape: y.shape))
            optimizer.step(model)
        }
        #expect(spy.backwardCount == 0 && middle.backwardCount == 0)
        var gradients: [String: Matrix<Double>] = [:]
        model.visitParameters { name, _, gradient in gradients[name] = gradient }
        for name in ["conv1.weight", "conv1.bias", "bn1.weight", "block.conv1.weight", "block.bn1.bias"] {
            #expect(gradients[name]!.elements.allSatisfy { $0 == 0 }, "\(name)")
        }
        #expect(gradients["block.conv2.weight"]!.elements.contains { $0 != 0 })
        let after = model.exportState()
        for name in ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "block.conv1.weight", "block.bn1.weight"] {
            #expect(after.tensors[name] == before.tensors[name], "\(name)")
        }
        for name in ["block.conv2.weight", "block.bn2.weight", "fc.weight"] {
            #expect(after.tensors[name] != before.tensors[name], "\(name)")
        }
        // The partially frozen block's input gradient is not needed: its body stops at conv2.
        // With the input gradient requested, every layer runs backward again.
        model.computesInputGradient = true
        _ = model.forward(x, training: true)
        _ = model.backward(Tensor(Matrix(rows: 2, columns: 3, repeating: 1), shape: TensorShape.vector(3)))
        #expect(spy.backwardCount == 1 && middle.backwardCount == 1)
        #expect(throws: UnknownLayerError.self) { try model.freeze(through: "nothing.here") }
    }

    @Test func frozenGradientsMatchTheUnfrozenOnesDownstream() {
        // Freezing the stem changes neither the loss nor the gradients of the trainable layers.
        let frozen = Blocks.resnet(seed: 8), reference = Blocks.resnet(seed: 8)
        frozen.computesInputGradient = false
        reference.computesInputGradient = false
        try! frozen.freeze(through: "layer1")
        let x = randomTensor(batch: 2, shape: TensorShape(channels: 3, height: 12, width: 12), seed: 9)
        for model in [frozen, reference] {
            model.zeroGradients()
            let y = model.forward(x, training: true)
            _ = model.backward(randomTensor(batch: 2, shape: y.shape, seed: 10))
        }
        var a: [String: Matrix<Double>] = [:], b: [String: Matrix<Double>] = [:]
        frozen.visitTrainableParameters { n, _, g in a[n] = g }
        reference.visitParameters { n, _, g in if a[n] != nil { b[n] = g } }
        #expect(a.keys.sorted() == b.keys.sorted() && a.count == 17)
        for (name, gradient) in a { #expect(gradient.maxAbsDifference(b[name]!) < 1e-12, "\(name)") }
    }
}
