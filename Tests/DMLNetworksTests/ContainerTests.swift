import Testing
import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// A layer that counts its backward passes (to see which layers a backward pass reaches).
final class BackwardCounter<Scalar: NetworkScalar>: Layer {
    var backwardCount = 0
    func outputShape(for input: TensorShape) throws -> TensorShape { input }
    func forward(_ input: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> { input }
    func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar> {
        backwardCount += 1
        return outputGradient
    }
}

/// Small torchvision- and EfficientNet-style blocks built from the containers.
enum Blocks {
    /// torchvision's BasicBlock: `relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x))`.
    static func basic(_ inputs: Int, _ outputs: Int, stride: Int, generator: inout SeededGenerator) -> Residual<Double> {
        let downsample: Sequential<Double>? = stride != 1 || inputs != outputs
            ? Sequential([Conv2D<Double>(inputs, outputs, kernelSize: 1, stride: stride, bias: false, generator: &generator),
                          BatchNorm<Double>(channels: outputs)])
            : nil
        return Residual(named: [
            ("conv1", Conv2D<Double>(inputs, outputs, kernelSize: 3, stride: stride, padding: 1, bias: false, generator: &generator)),
            ("bn1", BatchNorm<Double>(channels: outputs)),
            ("relu", ReLU<Double>()),
            ("conv2", Conv2D<Double>(outputs, outputs, kernelSize: 3, padding: 1, bias: false, generator: &generator)),
            ("bn2", BatchNorm<Double>(channels: outputs)),
        ], shortcut: downsample, activation: .relu)
    }

    /// torchvision's BasicConv2d: `relu(bn(conv(x)))` with children `conv`, `bn`.
    static func basicConv(_ inputs: Int, _ outputs: Int, kernel: Int, padding: Int = 0, generator: inout SeededGenerator) -> Sequential<Double> {
        Sequential(named: [
            ("conv", Conv2D<Double>(inputs, outputs, kernelSize: kernel, padding: padding, bias: false, generator: &generator)),
            ("bn", BatchNorm<Double>(channels: outputs, epsilon: 0.001)),
            ("relu", ReLU<Double>()),
        ])
    }

    /// A torchvision Inception module: four branches concatenated.
    static func inception(_ inputs: Int, generator: inout SeededGenerator) -> Concatenate<Double> {
        Concatenate(named: [
            ("branch1", basicConv(inputs, 2, kernel: 1, generator: &generator)),
            ("branch2", Sequential([basicConv(inputs, 2, kernel: 1, generator: &generator), basicConv(2, 3, kernel: 3, padding: 1, generator: &generator)])),
            ("branch3", Sequential([basicConv(inputs, 1, kernel: 1, generator: &generator), basicConv(1, 2, kernel: 3, padding: 1, generator: &generator)])),
            ("branch4", Sequential([MaxPool2D<Double>(kernelSize: 3, stride: 1, padding: 1, ceilMode: true), basicConv(inputs, 2, kernel: 1, generator: &generator)])),
        ])
    }

    /// An EfficientNet-Lite MBConv block (expand 1×1, depthwise k×k, project 1×1, ReLU6), with
    /// the reference's names; the skip only when the shapes agree.
    static func mbConv(_ inputs: Int, _ outputs: Int, expand: Int, kernel: Int, stride: Int, size: Int,
                       generator: inout SeededGenerator) -> any Layer<Double> {
        let hidden = inputs * expand
        var layers: [(String, any Layer<Double>)] = []
        if expand != 1 {
            layers += [("_expand_conv", Conv2D<Double>(inputs, hidden, kernelSize: 1, bias: false, generator: &generator)),
                       ("_bn0", BatchNorm<Double>(channels: hidden, momentum: 0.01, epsilon: 1e-3)),
                       ("_relu0", Activation<Double>(.relu6))]
        }
        let padding = Padding2D.same(inputHeight: size, inputWidth: size, kernel: Size2D(kernel), stride: Size2D(stride))
        layers += [("_depthwise_conv", Conv2D<Double>(hidden, hidden, kernel: Size2D(kernel), stride: Size2D(stride), padding: padding,
                                                      groups: hidden, bias: false, generator: &generator)),
                   ("_bn1", BatchNorm<Double>(channels: hidden, momentum: 0.01, epsilon: 1e-3)),
                   ("_relu1", Activation<Double>(.relu6)),
                   ("_project_conv", Conv2D<Double>(hidden, outputs, kernelSize: 1, bias: false, generator: &generator)),
                   ("_bn2", BatchNorm<Double>(channels: outputs, momentum: 0.01, epsilon: 1e-3))]
        return stride == 1 && inputs == outputs ? Residual(named: layers) : Sequential(named: layers)
    }

    /// A tiny ResNet: stem, two stages of basic blocks, pooling and a classifier `fc`.
    static func resnet(seed: UInt64) -> Sequential<Double> {
        var g = SeededGenerator(seed: seed)
        return Sequential(named: [
            ("conv1", Conv2D<Double>(3, 4, kernelSize: 3, stride: 2, padding: 1, bias: false, generator: &g)),
            ("bn1", BatchNorm<Double>(channels: 4)),
            ("relu", ReLU<Double>()),
            ("maxpool", MaxPool2D<Double>(kernelSize: 3, stride: 2, padding: 1)),
            ("layer1", Sequential([basic(4, 4, stride: 1, generator: &g), basic(4, 4, stride: 1, generator: &g)])),
            ("layer2", Sequential([basic(4, 6, stride: 2, generator: &g), basic(6, 6, stride: 1, generator: &g)])),
            ("avgpool", GlobalAvgPool<Double>()),
            ("fc", Linear<Double>(6, 5, generator: &g)),
        ])
    }
}

/// Containers: names, shapes, forward values and gradients.
@Suite struct ContainerTests {
    @Test func residualNamesAreTorchvisions() {
        var g = SeededGenerator(seed: 1)
        let block = Blocks.basic(3, 4, stride: 2, generator: &g)
        let names = block.weightDescriptors().map(\.name)
        #expect(names == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                          "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var",
                          "downsample.0.weight", "downsample.1.weight", "downsample.1.bias",
                          "downsample.1.running_mean", "downsample.1.running_var"])
        let model = Blocks.resnet(seed: 2)
        let all = Set(model.weightDescriptors().map(\.name))
        #expect(all.contains("layer1.0.conv1.weight"))
        #expect(all.contains("layer2.0.downsample.0.weight"))
        #expect(all.contains("layer2.0.downsample.1.running_var"))
        #expect(!all.contains("layer1.0.downsample.0.weight"))
        #expect(all.contains("fc.bias"))
    }

    @Test func descriptorsListShapesInStateDictOrder() {
        var g = SeededGenerator(seed: 3)
        let block = Blocks.basic(3, 4, stride: 2, generator: &g)
        let descriptors = block.weightDescriptors()
        let byName = Dictionary(uniqueKeysWithValues: descriptors.map { ($0.name, $0.shape) })
        #expect(byName["conv1.weight"] == [4, 3, 3, 3])
        #expect(byName["downsample.0.weight"] == [4, 3, 1, 1])
        #expect(byName["bn1.running_var"] == [4])
        #expect(descriptors.filter { $0.role == .buffer }.count == 6)
        #expect(descriptors.filter { $0.role == .parameter }.count == 9)
        #expect(block.descendant(at: "downsample.1") is BatchNorm<Double>)
        #expect(block.descendant(at: "conv2") is Conv2D<Double>)
    }

    @Test func inceptionAndMBConvNames() {
        var g = SeededGenerator(seed: 4)
        let module = Blocks.inception(3, generator: &g)
        let names = Set(module.weightDescriptors().map(\.name))
        #expect(names.contains("branch1.conv.weight"))
        #expect(names.contains("branch2.1.conv.weight"))
        #expect(names.contains("branch4.1.bn.running_mean"))
        #expect((try? module.outputShape(for: TensorShape(channels: 3, height: 5, width: 5))) == TensorShape(channels: 9, height: 5, width: 5))
        let blocks = Sequential<Double>(named: [
            ("0", Blocks.mbConv(3, 3, expand: 1, kernel: 3, stride: 1, size: 6, generator: &g)),
            ("1", Blocks.mbConv(3, 4, expand: 2, kernel: 5, stride: 2, size: 6, generator: &g)),
            ("2", Blocks.mbConv(4, 4, expand: 2, kernel: 3, stride: 1, size: 3, generator: &g)),
        ])
        let model = Sequential<Double>(named: [("_blocks", blocks)])
        let shapes = Dictionary(uniqueKeysWithValues: model.weightDescriptors().map { ($0.name, $0.shape) })
        #expect(shapes["_blocks.0._depthwise_conv.weight"] == [3, 1, 3, 3])
        #expect(shapes["_blocks.1._expand_conv.weight"] == [6, 3, 1, 1])
        #expect(shapes["_blocks.1._depthwise_conv.weight"] == [6, 1, 5, 5])
        #expect(shapes["_blocks.2._project_conv.weight"] == [4, 8, 1, 1])
        #expect(shapes["_blocks.0._expand_conv.weight"] == nil)
        #expect(model["_blocks"] != nil && blocks["0"] is Residual<Double> && blocks["1"] is Sequential<Double>)
        #expect((try? model.outputShape(for: TensorShape(channels: 3, height: 6, width: 6))) == TensorShape(channels: 4, height: 3, width: 3))
    }

    @Test func residualForwardIsTheSumThroughTheActivation() {
        var g = SeededGenerator(seed: 5)
        let conv = Conv2D<Double>(2, 2, kernelSize: 1, bias: false, generator: &g)
        conv.weight = Matrix([[1, 0], [0, -1]])
        let block = Residual(Sequential([conv]), activation: .relu)
        let x = Tensor(Matrix<Double>([[1, -2, 3, 4]]), shape: TensorShape(channels: 2, height: 1, width: 2))
        // body: [1, -2, -3, -4]; + x: [2, -4, 0, 0]; relu: [2, 0, 0, 0]
        #expect(block.forward(x, training: false).values == Matrix([[2, 0, 0, 0]]))
        let plain = Residual(Sequential([conv]))
        #expect(plain.forward(x, training: false).values == Matrix([[2, -4, 0, 0]]))
    }

    @Test func concatenationStacksTheBranchChannels() {
        var g = SeededGenerator(seed: 6)
        let a = Conv2D<Double>(1, 1, kernelSize: 1, bias: false, generator: &g)
        a.weight = Matrix([[2]])
        let b = Conv2D<Double>(1, 2, kernelSize: 1, bias: false, generator: &g)
        b.weight = Matrix([[1], [-1]])
        let cat = Concatenate<Double>([a, b])
        let x = Tensor(Matrix<Double>([[1, 2], [3, 4]]), shape: TensorShape(channels: 1, height: 1, width: 2))
        let y = cat.forward(x, training: false)
        #expect(y.shape == TensorShape(channels: 3, height: 1, width: 2))
        #expect(y.values == Matrix([[2, 4, 1, 2, -1, -2], [6, 8, 3, 4, -3, -4]]))
        let dx = cat.backward(Tensor(Matrix([[1, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0]]), shape: y.shape))
        // ∂/∂x = 2·g_a + g_b0 − g_b1
        #expect(dx.values == Matrix([[3, 1], [0, 0]]))
    }

    @Test(arguments: [true, false])
    func blockGradientsMatchFiniteDifferences(training: Bool) {
        var g = SeededGenerator(seed: 7)
        let blocks: [(String, any Layer<Double>, TensorShape)] = [
            ("basic with downsample", Blocks.basic(2, 3, stride: 2, generator: &g), TensorShape(channels: 2, height: 5, width: 5)),
            ("basic identity", Blocks.basic(3, 3, stride: 1, generator: &g), TensorShape(channels: 3, height: 4, width: 4)),
            ("inception", Blocks.inception(3, generator: &g), TensorShape(channels: 3, height: 4, width: 5)),
            ("mbconv skip", Blocks.mbConv(3, 3, expand: 2, kernel: 3, stride: 1, size: 5, generator: &g), TensorShape(channels: 3, height: 5, width: 5)),
            ("mbconv stride 2", Blocks.mbConv(2, 3, expand: 3, kernel: 5, stride: 2, size: 6, generator: &g), TensorShape(channels: 2, height: 6, width: 6)),
        ]
        for (name, block, shape) in blocks {
            // Random γ, β and running statistics so every term matters.
            var rng = SeededGenerator(seed: 8)
            var saved: [(BatchNorm<Double>, Matrix<Double>, Matrix<Double>)] = []
            block.visitDescendants { _, layer in
                if let bn = layer as? BatchNorm<Double> {
                    bn.gamma = rng.uniformMatrix(rows: 1, columns: bn.channels, low: 0.5, high: 1.5)
                    bn.beta = rng.normalMatrix(rows: 1, columns: bn.channels, std: 0.3)
                    bn.runningMean = rng.normalMatrix(rows: 1, columns: bn.channels, std: 0.3)
                    bn.runningVariance = rng.uniformMatrix(rows: 1, columns: bn.channels, low: 0.5, high: 2)
                    saved.append((bn, bn.runningMean, bn.runningVariance))
                }
            }
            let check = LayerGradientCheck(block, input: randomTensor(batch: 3, shape: shape, seed: 9), training: training,
                                           reset: { for (bn, m, v) in saved { bn.runningMean = m; bn.runningVariance = v } })
            #expect(check.worst < 1e-5, "\(name), training \(training): \(check.parameterErrors.filter { $0.value >= 1e-5 })")
            #expect(!check.parameterErrors.isEmpty)
        }
    }

    @Test func identityPassesValuesAndGradients() {
        let x = randomTensor(batch: 2, shape: TensorShape(channels: 2, height: 1, width: 3), seed: 11)
        let layer = Identity<Double>()
        #expect(layer.forward(x, training: true) == x)
        #expect(layer.backward(x) == x)
        #expect(LayerGradientCheck(layer, input: x).worst < LayerGradientTests.tolerance)
    }

    @Test func relu6ForwardAndGradient() {
        let x = Tensor(Matrix<Double>([[-1, 0, 0.5, 5.9, 6, 7]]))
        let layer = Activation<Double>(.relu6)
        #expect(layer.forward(x, training: true).values == Matrix([[0, 0, 0.5, 5.9, 6, 6]]))
        #expect(layer.backward(Tensor(Matrix([[1, 1, 1, 1, 1, 1]]))).values == Matrix([[0, 0, 1, 1, 0, 0]]))
        var rng = SeededGenerator(seed: 10)
        // Values spread over (−3, 9) so both kinks are crossed, none within the step of one.
        let spread = Tensor(Matrix<Double>(rows: 3, columns: 20) { _, _ in
            var v = rng.nextUniform() * 12 - 3
            if abs(v) < 0.01 || abs(v - 6) < 0.01 { v += 0.05 }
            return v
        })
        #expect(LayerGradientCheck(layer, input: spread).worst < LayerGradientTests.tolerance)
    }
}

/// Stochastic depth: whole samples dropped or scaled, seeded, identity in evaluation.
@Suite struct StochasticDepthTests {
    @Test func dropsWholeSamplesAndScalesTheRest() {
        let layer = StochasticDepth<Double>(probability: 0.5, seed: 3)
        let x = Tensor(Matrix<Double>(rows: 64, columns: 6, repeating: 1), shape: TensorShape(channels: 6))
        #expect(layer.forward(x, training: false) == x)
        let y = layer.forward(x, training: true)
        var kept = 0
        for n in 0..<64 {
            let row = (0..<6).map { y.values[n, $0] }
            #expect(row.allSatisfy { $0 == 0 } || row.allSatisfy { $0 == 2 })
            if row[0] == 2 { kept += 1 }
        }
        #expect(kept > 16 && kept < 48)
        let g = Tensor(Matrix<Double>(rows: 64, columns: 6) { n, c in Double(n * 6 + c) }, shape: x.shape)
        let dx = layer.backward(g)
        for n in 0..<64 { #expect(dx.values[n, 1] == y.values[n, 1] * g.values[n, 1]) }
        #expect(layer.forwardCount == 1)
        let replay = StochasticDepth<Double>(probability: 0.5, seed: 3)
        #expect(replay.forward(x, training: true) == y)
        #expect(layer.exportState().integers == ["forwardCount": 1])
    }

    @Test func gradientWithAReplayedMask() {
        let layer = StochasticDepth<Double>(probability: 0.3, seed: 4)
        let check = LayerGradientCheck(layer, input: randomTensor(batch: 6, shape: TensorShape(channels: 2, height: 2, width: 2), seed: 5),
                                       reset: { layer.forwardCount = 0 })
        #expect(check.worst < LayerGradientTests.tolerance)
    }
}
