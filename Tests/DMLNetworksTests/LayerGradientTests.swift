import Testing
import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// Every layer's input and parameter gradients against central finite differences in Double.
@Suite struct LayerGradientTests {
    static let tolerance = 1e-6

    @Test func linearWithBiasOnImageShapedInput() {
        var rng = SeededGenerator(seed: 1)
        let layer = Linear<Double>(12, 5, generator: &rng)
        layer.bias = rng.normalMatrix(rows: 1, columns: 5)
        let check = LayerGradientCheck(layer, input: randomTensor(batch: 4, shape: TensorShape(channels: 3, height: 2, width: 2), seed: 2))
        #expect(check.parameterErrors.keys.sorted() == ["bias", "weight"])
        #expect(check.worst < Self.tolerance)
    }

    @Test func linearWithoutBias() {
        var rng = SeededGenerator(seed: 3)
        let layer = Linear<Double>(6, 4, bias: false, generator: &rng)
        let check = LayerGradientCheck(layer, input: randomTensor(batch: 3, shape: .vector(6), seed: 4))
        #expect(check.parameterErrors.keys.sorted() == ["weight"])
        #expect(check.worst < Self.tolerance)
    }

    @Test func relu() {
        let check = LayerGradientCheck(ReLU<Double>(), input: randomTensor(batch: 3, shape: TensorShape(channels: 2, height: 3, width: 3), seed: 5))
        #expect(check.worst < Self.tolerance)
    }

    @Test(arguments: [
        (3, 1, 1, TensorShape(channels: 2, height: 5, width: 5)),
        (3, 2, 0, TensorShape(channels: 3, height: 7, width: 6)),
        (2, 2, 1, TensorShape(channels: 2, height: 5, width: 7)),
        (1, 1, 0, TensorShape(channels: 4, height: 3, width: 2)),
        (3, 3, 2, TensorShape(channels: 1, height: 4, width: 5)),
    ])
    func convolution(kernel: Int, stride: Int, padding: Int, shape: TensorShape) {
        for algorithm in ConvolutionAlgorithm.allCases {
            var rng = SeededGenerator(seed: 6)
            let layer = Conv2D<Double>(shape.channels, 3, kernelSize: kernel, stride: stride, padding: padding, generator: &rng)
            layer.bias = rng.normalMatrix(rows: 1, columns: 3)
            layer.algorithm = algorithm
            let check = LayerGradientCheck(layer, input: randomTensor(batch: 2, shape: shape, seed: 7))
            #expect(check.parameterErrors.keys.sorted() == ["bias", "weight"])
            #expect(check.worst < Self.tolerance, "\(algorithm)")
        }
    }

    @Test func maxPool() {
        let check = LayerGradientCheck(MaxPool2D<Double>(kernelSize: 2), input: randomTensor(batch: 2, shape: TensorShape(channels: 2, height: 5, width: 4), seed: 8))
        #expect(check.worst < Self.tolerance)
        let overlapping = LayerGradientCheck(MaxPool2D<Double>(kernelSize: 3, stride: 2), input: randomTensor(batch: 2, shape: TensorShape(channels: 1, height: 7, width: 5), seed: 9))
        #expect(overlapping.worst < Self.tolerance)
    }

    @Test func averagePool() {
        let check = LayerGradientCheck(AvgPool2D<Double>(kernelSize: 2), input: randomTensor(batch: 2, shape: TensorShape(channels: 2, height: 4, width: 5), seed: 10))
        #expect(check.worst < Self.tolerance)
        let overlapping = LayerGradientCheck(AvgPool2D<Double>(kernelSize: 3, stride: 1), input: randomTensor(batch: 2, shape: TensorShape(channels: 2, height: 4, width: 5), seed: 11))
        #expect(overlapping.worst < Self.tolerance)
    }

    @Test func globalAveragePool() {
        let check = LayerGradientCheck(GlobalAvgPool<Double>(), input: randomTensor(batch: 3, shape: TensorShape(channels: 4, height: 3, width: 2), seed: 12))
        #expect(check.worst < Self.tolerance)
    }

    @Test(arguments: [true, false])
    func batchNormOnImages(training: Bool) {
        let layer = BatchNorm<Double>(channels: 3)
        var rng = SeededGenerator(seed: 13)
        layer.gamma = rng.normalMatrix(rows: 1, columns: 3)
        layer.beta = rng.normalMatrix(rows: 1, columns: 3)
        layer.runningMean = rng.normalMatrix(rows: 1, columns: 3)
        layer.runningVariance = rng.uniformMatrix(rows: 1, columns: 3, low: 0.5, high: 2)
        let saved = (layer.runningMean, layer.runningVariance)
        let check = LayerGradientCheck(layer, input: randomTensor(batch: 3, shape: TensorShape(channels: 3, height: 2, width: 3), seed: 14),
                                       training: training, reset: { (layer.runningMean, layer.runningVariance) = saved })
        #expect(check.parameterErrors.keys.sorted() == ["bias", "weight"])
        #expect(check.worst < Self.tolerance)
    }

    @Test func batchNormOnVectors() {
        let layer = BatchNorm<Double>(channels: 5)
        var rng = SeededGenerator(seed: 15)
        layer.gamma = rng.normalMatrix(rows: 1, columns: 5)
        let check = LayerGradientCheck(layer, input: randomTensor(batch: 4, shape: .vector(5), seed: 16))
        #expect(check.worst < Self.tolerance)
    }

    @Test func dropoutWithAReplayedMask() {
        let layer = Dropout<Double>(probability: 0.4, seed: 17)
        let check = LayerGradientCheck(layer, input: randomTensor(batch: 3, shape: .vector(10), seed: 18),
                                       reset: { layer.forwardCount = 0 })
        #expect(check.worst < Self.tolerance)
    }

    @Test func flatten() {
        let check = LayerGradientCheck(Flatten<Double>(), input: randomTensor(batch: 2, shape: TensorShape(channels: 2, height: 2, width: 3), seed: 19))
        #expect(check.worst < Self.tolerance)
    }

    @Test func l2Normalize() {
        let check = LayerGradientCheck(L2Normalize<Double>(), input: randomTensor(batch: 4, shape: .vector(6), seed: 20))
        #expect(check.worst < Self.tolerance)
    }

    @Test func sequentialConvolutionalPresetEndToEnd() {
        let model: Sequential<Double> = ModelPresets.convolutional(input: TensorShape(channels: 2, height: 6, width: 6),
                                                                   widths: [3, 4], embeddingDimension: 5,
                                                                   computesInputGradient: true, seed: 21)
        let check = LayerGradientCheck(model, input: randomTensor(batch: 3, shape: TensorShape(channels: 2, height: 6, width: 6), seed: 22))
        #expect(check.parameterErrors.keys.sorted() == [
            "block1.bn.bias", "block1.bn.weight", "block1.conv.weight",
            "block2.bn.bias", "block2.bn.weight", "block2.conv.weight",
            "embedding.bias", "embedding.weight",
        ])
        #expect(check.worst < Self.tolerance)
    }

    @Test func sequentialMLPPresetEndToEnd() {
        let model: Sequential<Double> = ModelPresets.mlp(inputDimension: 7, hiddenDimensions: [6, 5], embeddingDimension: 4,
                                                         batchNorm: true, computesInputGradient: true, seed: 23)
        let check = LayerGradientCheck(model, input: randomTensor(batch: 5, shape: .vector(7), seed: 24))
        #expect(check.parameterErrors.count == 8)  // 2 hidden weights, 2×(γ, β), embedding weight and bias
        #expect(check.worst < Self.tolerance)
    }
}
