import Testing
import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// Forward passes against hand-computed values and independent direct implementations.
@Suite struct LayerForwardTests {
    /// Direct 6-loop convolution, the oracle for im2col + GEMM.
    static func directConvolution(_ x: Tensor<Double>, weight: Matrix<Double>, bias: Matrix<Double>?, outputChannels: Int,
                                  kernel k: Int, stride s: Int, padding pad: Int) -> Matrix<Double> {
        let c = x.shape.channels, h = x.shape.height, w = x.shape.width
        let oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1
        var y = Matrix<Double>(rows: x.batch, columns: outputChannels * oh * ow)
        for n in 0..<x.batch {
            for o in 0..<outputChannels {
                for r in 0..<oh {
                    for q in 0..<ow {
                        var sum = bias?[0, o] ?? 0
                        for ci in 0..<c {
                            for i in 0..<k {
                                for j in 0..<k {
                                    let ih = r * s - pad + i, iw = q * s - pad + j
                                    guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                                    sum += weight[o, (ci * k + i) * k + j] * x.values[n, (ci * h + ih) * w + iw]
                                }
                            }
                        }
                        y[n, (o * oh + r) * ow + q] = sum
                    }
                }
            }
        }
        return y
    }

    @Test(arguments: [(3, 1, 1), (3, 2, 0), (2, 2, 1), (5, 1, 2), (3, 3, 2)])
    func convolutionMatchesDirectLoops(kernel: Int, stride: Int, padding: Int) throws {
        for algorithm in ConvolutionAlgorithm.allCases {
            for withBias in [true, false] {
                var rng = SeededGenerator(seed: 30)
                let layer = Conv2D<Double>(2, 3, kernelSize: kernel, stride: stride, padding: padding, bias: withBias, generator: &rng)
                if withBias { layer.bias = rng.normalMatrix(rows: 1, columns: 3) }
                layer.algorithm = algorithm
                let x = randomTensor(batch: 3, shape: TensorShape(channels: 2, height: 6, width: 7), seed: 31)
                let y = layer.forward(x, training: true)
                #expect(y.shape == (try layer.outputShape(for: x.shape)))
                let expected = Self.directConvolution(x, weight: layer.weight, bias: layer.bias, outputChannels: 3,
                                                      kernel: kernel, stride: stride, padding: padding)
                #expect(y.values.maxAbsDifference(expected) < 1e-12, "\(algorithm), bias \(withBias)")
            }
        }
    }

    @Test func convolutionHandComputed() {
        // One 3×3 image, one 2×2 kernel of ones, no padding: sums of 2×2 windows.
        var rng = SeededGenerator(seed: 0)
        let layer = Conv2D<Double>(1, 1, kernelSize: 2, bias: false, generator: &rng)
        layer.weight = Matrix([[1, 1, 1, 1]])
        let x = Tensor(Matrix<Double>([[1, 2, 3, 4, 5, 6, 7, 8, 9]]), shape: TensorShape(channels: 1, height: 3, width: 3))
        let y = layer.forward(x, training: false)
        #expect(y.shape == TensorShape(channels: 1, height: 2, width: 2))
        #expect(y.values == Matrix([[12, 16, 24, 28]]))
    }

    @Test func linearHandComputed() {
        let layer = Linear<Double>(weight: Matrix([[1, 2], [3, 4], [5, 6]]), bias: Matrix([[1, 0, -1]]))
        let y = layer.forward(Tensor(Matrix([[1, 1], [2, -1]])), training: false)
        #expect(y.values == Matrix([[4, 7, 10], [1, 2, 3]]))
    }

    @Test func poolingHandComputed() {
        let x = Tensor(Matrix<Double>([[1, 5, 2, 0, 3, 4, 8, 1, 6, 2, 1, 1, 0, 9, 7, 3]]),
                       shape: TensorShape(channels: 1, height: 4, width: 4))
        let maxPool = MaxPool2D<Double>(kernelSize: 2)
        #expect(maxPool.forward(x, training: true).values == Matrix([[5, 8, 9, 7]]))
        let grad = maxPool.backward(Tensor(Matrix([[1, 2, 3, 4]]), shape: TensorShape(channels: 1, height: 2, width: 2)))
        #expect(grad.values == Matrix([[0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0]]))
        let avgPool = AvgPool2D<Double>(kernelSize: 2)
        let averages: [Double] = [13, 11, 17, 12].map { $0 / 4 }
        #expect(avgPool.forward(x, training: true).values == Matrix(rows: 1, columns: 4, elements: averages))
        let global = GlobalAvgPool<Double>()
        let g = global.forward(x, training: true)
        #expect(g.shape == .vector(1))
        #expect(g.values == Matrix(rows: 1, columns: 1, elements: [53.0 / 16]))
    }

    @Test func batchNormTrainingAndRunningStatistics() {
        // Channel 0 values {1, 3} and {5, 7}; channel 1 values {0, 0} and {2, 2} (N = 2, H·W = 2).
        let x = Tensor(Matrix<Double>([[1, 3, 0, 0], [5, 7, 2, 2]]), shape: TensorShape(channels: 2, height: 1, width: 2))
        let layer = BatchNorm<Double>(channels: 2, momentum: 0.1, epsilon: 0)
        let y = layer.forward(x, training: true)
        // Channel 0: mean 4, biased variance 5; channel 1: mean 1, variance 1.
        let r = 1 / 5.0.squareRoot()
        let expected = Matrix<Double>([[-3 * r, -1 * r, -1, -1], [1 * r, 3 * r, 1, 1]])
        #expect(y.values.maxAbsDifference(expected) < 1e-12)
        // Running: 0.9·0 + 0.1·mean; 0.9·1 + 0.1·(unbiased variance = biased · 4/3).
        #expect(abs(layer.runningMean[0, 0] - 0.4) < 1e-12 && abs(layer.runningMean[0, 1] - 0.1) < 1e-12)
        #expect(abs(layer.runningVariance[0, 0] - (0.9 + 0.1 * 20 / 3)) < 1e-12)
        #expect(abs(layer.runningVariance[0, 1] - (0.9 + 0.1 * 4 / 3)) < 1e-12)
        // Evaluation mode uses the running statistics and leaves them alone.
        let before = layer.runningMean
        let e = layer.forward(x, training: false)
        #expect(layer.runningMean == before)
        #expect(abs(e.values[0, 0] - (1 - 0.4) / (0.9 + 0.1 * 20 / 3).squareRoot()) < 1e-12)
    }

    @Test func l2NormalizeGivesUnitRowsAndSurvivesZeroRows() {
        let layer = L2Normalize<Double>()
        let y = layer.forward(Tensor(Matrix([[3, 4], [0, 0]])), training: true)
        #expect(y.values.maxAbsDifference(Matrix([[0.6, 0.8], [0, 0]])) < 1e-15)
        let g = layer.backward(Tensor(Matrix([[1, 1], [1, 1]])))
        #expect(g.values.isFinite)
        #expect(abs(g.values[0, 0] - (1 - 0.6 * 1.4) / 5) < 1e-12)
    }

    @Test func dropoutIsSeededScaledAndIdentityInEvaluation() {
        let x = Tensor(Matrix<Double>(rows: 50, columns: 40, repeating: 1))
        let a = Dropout<Double>(probability: 0.25, seed: 5), b = Dropout<Double>(probability: 0.25, seed: 5)
        let ya = a.forward(x, training: true), yb = b.forward(x, training: true)
        #expect(ya == yb)
        #expect(a.forward(x, training: true) != ya)  // the next pass draws a new mask
        let kept = ya.values.elements.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-12 })
        let dropped = Double(ya.values.count - kept.count) / Double(ya.values.count)
        #expect(abs(dropped - 0.25) < 0.04)
        #expect(a.forward(x, training: false) == x)
    }

    @Test func sequentialShapesAndErrors() throws {
        let model: Sequential<Float> = ModelPresets.fashionMNIST(embeddingDimension: 64, seed: 1)
        #expect(try model.outputShape(for: TensorShape(channels: 1, height: 28, width: 28)) == .vector(64))
        #expect(try model.outputShape(for: TensorShape(channels: 1, height: 32, width: 32)) == .vector(64))
        #expect(throws: NetworkShapeError.self) { try model.outputShape(for: TensorShape(channels: 3, height: 28, width: 28)) }
        do {
            _ = try model.outputShape(for: TensorShape(channels: 3, height: 28, width: 28))
        } catch let error as NetworkShapeError {
            #expect(error.description.contains("block1.conv"))
            #expect(error.description.contains("expected 1 input channels"))
        }
        let rgb: Sequential<Float> = ModelPresets.convolutional(input: TensorShape(channels: 3, height: 32, width: 32), seed: 2)
        #expect(try rgb.outputShape(for: TensorShape(channels: 3, height: 32, width: 32)) == .vector(512))
    }

    @Test func presetsAreDeterministicAndFloatMatchesDouble() {
        let a: Sequential<Double> = ModelPresets.convolutional(input: TensorShape(channels: 1, height: 12, width: 12),
                                                               widths: [4, 8], embeddingDimension: 6, seed: 7)
        let b: Sequential<Double> = ModelPresets.convolutional(input: TensorShape(channels: 1, height: 12, width: 12),
                                                               widths: [4, 8], embeddingDimension: 6, seed: 7)
        let c: Sequential<Float> = ModelPresets.convolutional(input: TensorShape(channels: 1, height: 12, width: 12),
                                                              widths: [4, 8], embeddingDimension: 6, seed: 7)
        #expect(a.exportState() == b.exportState())
        let x = randomTensor(batch: 4, shape: TensorShape(channels: 1, height: 12, width: 12), seed: 8)
        let ya = a.forward(x, training: true)
        #expect(ya == b.forward(x, training: true))
        let yc = c.forward(Tensor(x.values.converted(to: Float.self), shape: x.shape), training: true)
        #expect(yc.values.converted(to: Double.self).maxAbsDifference(ya.values) < 1e-4)
        let other: Sequential<Double> = ModelPresets.convolutional(input: TensorShape(channels: 1, height: 12, width: 12),
                                                                   widths: [4, 8], embeddingDimension: 6, seed: 8)
        #expect(other.exportState() != a.exportState())
    }

    @Test func firstLayerSkipsTheDataGradientOnly() {
        let shape = TensorShape(channels: 1, height: 8, width: 8)
        let full: Sequential<Double> = ModelPresets.convolutional(input: shape, widths: [3, 4], embeddingDimension: 5,
                                                                  computesInputGradient: true, seed: 3)
        let lean: Sequential<Double> = ModelPresets.convolutional(input: shape, widths: [3, 4], embeddingDimension: 5, seed: 3)
        let x = randomTensor(batch: 3, shape: shape, seed: 4)
        let g = Tensor(Matrix<Double>(rows: 3, columns: 5, repeating: 0.5))
        for model in [full, lean] {
            model.zeroGradients()
            _ = model.forward(x, training: true)
        }
        let fullInput = full.backward(g), leanInput = lean.backward(g)
        #expect(fullInput.values.maxAbsDifference(Matrix(rows: 3, columns: 64)) > 0)
        #expect(leanInput.values == Matrix(rows: 3, columns: 64))
        var fullGradients: [String: Matrix<Double>] = [:], leanGradients: [String: Matrix<Double>] = [:]
        full.visitParameters { name, _, gradient in fullGradients[name] = gradient }
        lean.visitParameters { name, _, gradient in leanGradients[name] = gradient }
        #expect(fullGradients == leanGradients)
    }

    @Test func initializationStatistics() {
        var rng = SeededGenerator(seed: 40)
        let he: Matrix<Double> = Initialization.heNormal.weights(rows: 200, columns: 100, fanIn: 100, fanOut: 200, generator: &rng)
        let variance = he.elements.reduce(0) { $0 + $1 * $1 } / Double(he.count)
        #expect(abs(variance - 2.0 / 100) < 0.002)
        let xavier: Matrix<Double> = Initialization.xavierUniform.weights(rows: 200, columns: 100, fanIn: 100, fanOut: 200, generator: &rng)
        let bound = (6.0 / 300).squareRoot()
        #expect(xavier.elements.allSatisfy { abs($0) <= bound })
        #expect(xavier.elements.max()! > 0.95 * bound)
        let xavierVariance = xavier.elements.reduce(0) { $0 + $1 * $1 } / Double(xavier.count)
        #expect(abs(xavierVariance - 2.0 / 300) < 0.0007)
        var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
        let w1: Matrix<Float> = Initialization.heUniform.weights(rows: 3, columns: 4, fanIn: 4, fanOut: 3, generator: &r1)
        let w2: Matrix<Float> = Initialization.heUniform.weights(rows: 3, columns: 4, fanIn: 4, fanOut: 3, generator: &r2)
        #expect(w1 == w2)
    }
}

/// Max pooling with ties against a direct oracle (first maximum in row-major window order).
@Suite struct MaxPoolTieTests {
    @Test(arguments: [(2, 2), (3, 2), (2, 1)])
    func tiesRouteToTheFirstMaximum(kernel: Int, stride: Int) {
        var rng = SeededGenerator(seed: 50)
        let shape = TensorShape(channels: 2, height: 7, width: 6)
        let x = Tensor(Matrix<Double>(rows: 2, columns: shape.count) { _, _ in Double(rng.nextInt(below: 3)) }, shape: shape)
        let layer = MaxPool2D<Double>(kernelSize: kernel, stride: stride)
        let y = layer.forward(x, training: true)
        let oh = (7 - kernel) / stride + 1, ow = (6 - kernel) / stride + 1
        var expectedGradient = Matrix<Double>(rows: 2, columns: shape.count)
        var outputGradient = Matrix<Double>(rows: 2, columns: 2 * oh * ow)
        for n in 0..<2 {
            for c in 0..<2 {
                for r in 0..<oh {
                    for q in 0..<ow {
                        var best = -Double.infinity, bestIndex = -1
                        for i in 0..<kernel {
                            for j in 0..<kernel {
                                let index = (c * 7 + r * stride + i) * 6 + q * stride + j
                                if x.values[n, index] > best { best = x.values[n, index]; bestIndex = index }
                            }
                        }
                        let o = (c * oh + r) * ow + q
                        #expect(y.values[n, o] == best)
                        outputGradient[n, o] = Double(o + 1)
                        expectedGradient[n, bestIndex] += Double(o + 1)
                    }
                }
            }
        }
        #expect(layer.backward(Tensor(outputGradient, shape: y.shape)).values == expectedGradient)
    }
}
