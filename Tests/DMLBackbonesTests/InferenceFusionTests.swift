import Testing
import DMLNumerics
import DMLNetworks
@testable import DMLBackbones

/// Evaluation-mode fusion (`InferencePlan`: convolution + batch norm + activation as one pass,
/// the batch norm folded into the weights; a residual block's sum and activation in its last
/// convolution's output pass) against the same layers run as written (`useInferenceFusion(false)`).
///
/// **Tolerances.** Double: 1e-12 relative to the output's largest value — both are the same
/// function, evaluated once as `γ (W x − μ̄)/√(σ̄² + ε) + β` and once as `(s W) x + (β − μ̄ s)`,
/// so they differ only by rounding (about `K · 1.1e-16` for `K ≤ 1,200` products per output,
/// amplified by the few layers of a block). Float: 3e-5 relative, for the same reason at Float's
/// `ε = 6e-8`: the worst case of `K · ε` for `K = 32·9 = 288` products is 1.7e-5 per layer,
/// and the blocks chain two or three layers (measured: at most about 2e-6 here). An error in the
/// folding (a wrong sign of the bias, a missing scale) is of the order of the values themselves
/// and fails by many orders of magnitude.
@Suite("Fused evaluation passes equal the layers run as written")
struct InferenceFusionTests {
    static let floatTolerance = 3e-5
    static let doubleTolerance = 1e-12

    /// Random γ, β and running statistics (so every term of the fold matters), and a bias on
    /// every convolution that has one.
    static func randomizeStatistics<T: NetworkScalar>(_ model: any Layer<T>, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        func randomize(_ layer: any Layer<T>) {
            if let bn = layer as? BatchNorm<T> {
                bn.gamma = rng.uniformMatrix(rows: 1, columns: bn.channels, low: 0.5, high: 1.5)
                bn.beta = rng.normalMatrix(rows: 1, columns: bn.channels, std: 0.3)
                bn.runningMean = rng.normalMatrix(rows: 1, columns: bn.channels, std: 0.3)
                bn.runningVariance = rng.uniformMatrix(rows: 1, columns: bn.channels, low: 0.5, high: 2)
            }
            if let conv = layer as? Conv2D<T>, conv.bias != nil {
                conv.bias = rng.normalMatrix(rows: 1, columns: conv.outputChannels, std: 0.2)
            }
        }
        randomize(model)
        model.visitDescendants { _, layer in randomize(layer) }
    }

    static func input<T: NetworkScalar>(batch: Int, shape: TensorShape, seed: UInt64, as _: T.Type) -> Tensor<T> {
        var rng = SeededGenerator(seed: seed)
        return Tensor(rng.normalMatrix(rows: batch, columns: shape.count, as: T.self), shape: shape)
    }

    /// `max |a − b| / max |b|`.
    static func relative<T: NetworkScalar>(_ a: Matrix<T>, _ b: Matrix<T>) -> Double {
        precondition(a.count == b.count)
        var diff = 0.0, scale = 0.0
        for k in 0..<a.count {
            diff = max(diff, abs(Double(a.elements[k]) - Double(b.elements[k])))
            scale = max(scale, abs(Double(b.elements[k])))
        }
        return diff / max(scale, 1e-30)
    }

    /// The kinds of the steps an evaluation pass of `model` ran (fused ones joined by `" + "`).
    static func stepKinds<T: NetworkScalar>(_ model: Sequential<T>, _ x: Tensor<T>) -> [String] {
        let timer = LayerTimer { layer in
            let name = String(describing: type(of: layer))
            return name.firstIndex(of: "<").map { String(name[..<$0]) } ?? name
        }
        model.use(timer: timer)
        defer { model.use(timer: nil) }
        _ = model.forward(x, training: false)
        return timer.totals.map(\.kind)
    }

    /// The fused and the unfused evaluation output of `model` on `x`, with every convolution on
    /// `algorithm` and the layers on a pool of `threads` threads.
    static func outputs<T: NetworkScalar>(_ model: Sequential<T>, _ x: Tensor<T>, algorithm: ConvolutionAlgorithm,
                                          threads: Int) -> (fused: Matrix<T>, unfused: Matrix<T>) {
        model.visitDescendants { _, layer in (layer as? Conv2D<T>)?.algorithm = algorithm }
        let pool = threads > 1 ? ThreadPool(threads: threads) : nil
        model.use(pool: pool)
        defer { model.use(pool: nil) }
        model.useInferenceFusion(false)
        let unfused = model.forward(x, training: false).values
        model.useInferenceFusion(true)
        let fused = model.forward(x, training: false).values
        return (fused, unfused)
    }

    /// ResNet-18's blocks at a small plane: the stem (7×7 s2 + BN + ReLU + max pool), a basic
    /// block with the identity shortcut (3×3 stride-1 convolutions of 32 channels, Winograd
    /// under `.automatic`), one with a strided 1×1 downsample, and a bottleneck block.
    static func resnetBlocks<T: NetworkScalar>(as _: T.Type) -> (Sequential<T>, TensorShape) {
        var g = SeededGenerator(seed: 11)
        let model = Sequential<T>(named: [
            ("conv1", Conv2D<T>(3, 32, kernelSize: 7, stride: 2, padding: 3, bias: false, generator: &g)),
            ("bn1", BatchNorm<T>(channels: 32)),
            ("relu", ReLU<T>()),
            ("maxpool", MaxPool2D<T>(kernelSize: 3, stride: 2, padding: 1)),
            ("layer1", Sequential<T>([ResNet.makeBlock(.basic, input: 32, width: 32, stride: 1, generator: &g, as: T.self),
                                      ResNet.makeBlock(.basic, input: 32, width: 48, stride: 2, generator: &g, as: T.self)])),
            ("layer2", Sequential<T>([ResNet.makeBlock(.bottleneck, input: 48, width: 8, stride: 1, generator: &g, as: T.self)])),
            ("avgpool", GlobalAvgPool<T>()),
        ])
        randomizeStatistics(model, seed: 12)
        return (model, TensorShape(channels: 3, height: 32, width: 32))
    }

    /// EfficientNet-Lite0's blocks: the stem (3×3 s2 + BN + ReLU6), an MBConv block without
    /// expansion, one with expansion 6 and the skip (depthwise 3×3, drop connect), a strided 5×5
    /// one, and the head (1×1 + BN + ReLU6).
    static func liteBlocks<T: NetworkScalar>(as _: T.Type) -> (Sequential<T>, TensorShape) {
        var g = SeededGenerator(seed: 21)
        func bn(_ c: Int) -> BatchNorm<T> { BatchNorm<T>(channels: c, momentum: 0.01, epsilon: 1e-3) }
        let model = Sequential<T>(named: [
            ("_conv_stem", Conv2D<T>(3, 16, kernel: 3, stride: 2, padding: EfficientNetLite.samePadding(size: 24, kernel: 3, stride: 2),
                                     bias: false, generator: &g)),
            ("_bn0", bn(16)),
            ("_relu0", Activation<T>(.relu6)),
            ("_blocks", Sequential<T>([
                EfficientNetLite.makeBlock(input: 16, output: 16, expansion: 1, kernel: 3, stride: 1, size: 12, dropConnect: 0,
                                           seed: 1, bn: bn, generator: &g),
                EfficientNetLite.makeBlock(input: 16, output: 16, expansion: 6, kernel: 3, stride: 1, size: 12, dropConnect: 0.2,
                                           seed: 2, bn: bn, generator: &g),
                EfficientNetLite.makeBlock(input: 16, output: 24, expansion: 6, kernel: 5, stride: 2, size: 12, dropConnect: 0,
                                           seed: 3, bn: bn, generator: &g),
            ])),
            ("_conv_head", Conv2D<T>(24, 64, kernelSize: 1, bias: false, generator: &g)),
            ("_bn1", bn(64)),
            ("_relu1", Activation<T>(.relu6)),
            ("_avg_pooling", GlobalAvgPool<T>()),
        ])
        randomizeStatistics(model, seed: 22)
        return (model, TensorShape(channels: 3, height: 24, width: 24))
    }

    static let algorithms: [ConvolutionAlgorithm] = [.automatic, .perSample, .batched, .winograd]

    @Test("ResNet-18 blocks: Float and Double, every convolution algorithm, 1 and 2 threads", arguments: algorithms, [1, 2])
    func resnet(algorithm: ConvolutionAlgorithm, threads: Int) {
        let (double, shape) = Self.resnetBlocks(as: Double.self)
        let xd = Self.input(batch: 3, shape: shape, seed: 5, as: Double.self)
        let d = Self.outputs(double, xd, algorithm: algorithm, threads: threads)
        #expect(Self.relative(d.fused, d.unfused) <= Self.doubleTolerance, "Double: \(Self.relative(d.fused, d.unfused))")
        let (float, _) = Self.resnetBlocks(as: Float.self)
        let xf = Self.input(batch: 3, shape: shape, seed: 5, as: Float.self)
        let f = Self.outputs(float, xf, algorithm: algorithm, threads: threads)
        #expect(Self.relative(f.fused, f.unfused) <= Self.floatTolerance, "Float: \(Self.relative(f.fused, f.unfused))")
        // The fused steps ran: the stem, every convolution + batch norm (+ ReLU), the blocks'
        // last steps with the residual sum and ReLU.
        let kinds = Self.stepKinds(float, xf)
        for kind in ["Conv2D + BatchNorm + ReLU", "Conv2D + BatchNorm + residual sum + relu", "Conv2D + BatchNorm"] {
            #expect(kinds.contains(kind), "no fused step \(kind) in \(kinds)")
        }
        #expect(!kinds.contains("BatchNorm") && !kinds.contains("ReLU"), "\(kinds)")
    }

    @Test("EfficientNet-Lite0 blocks: Float and Double, every convolution algorithm, 1 and 2 threads", arguments: algorithms, [1, 2])
    func lite(algorithm: ConvolutionAlgorithm, threads: Int) {
        let (double, shape) = Self.liteBlocks(as: Double.self)
        let xd = Self.input(batch: 3, shape: shape, seed: 6, as: Double.self)
        let d = Self.outputs(double, xd, algorithm: algorithm, threads: threads)
        #expect(Self.relative(d.fused, d.unfused) <= Self.doubleTolerance, "Double: \(Self.relative(d.fused, d.unfused))")
        let (float, _) = Self.liteBlocks(as: Float.self)
        let xf = Self.input(batch: 3, shape: shape, seed: 6, as: Float.self)
        let f = Self.outputs(float, xf, algorithm: algorithm, threads: threads)
        #expect(Self.relative(f.fused, f.unfused) <= Self.floatTolerance, "Float: \(Self.relative(f.fused, f.unfused))")
        let kinds = Self.stepKinds(float, xf)
        for kind in ["Conv2D + BatchNorm + Activation", "Conv2D + BatchNorm + residual sum"] {
            #expect(kinds.contains(kind), "no fused step \(kind) in \(kinds)")
        }
        #expect(!kinds.contains("BatchNorm") && !kinds.contains("Activation") && !kinds.contains("StochasticDepth"), "\(kinds)")
    }

    @Test("the committed PyTorch fixture backbones: fused within the tolerance of unfused", arguments: BackboneParityTests.fixtureNames)
    func fixtures(name: String) throws {
        let expected = try Fixtures.read(name + "-expected.safetensors")
        for double in [false, true] {
            func check<T: NetworkScalar>(_: T.Type, tolerance: Double) throws {
                let model = Fixtures.model(name, as: T.self)
                try Backbones.load(try Fixtures.read(name + ".safetensors"), into: model, kind: Fixtures.kind(name), source: name)
                let x = try Fixtures.tensor(expected["input"]!, as: T.self)
                let out = Self.outputs(model, x, algorithm: .automatic, threads: 1)
                #expect(Self.relative(out.fused, out.unfused) <= tolerance, "\(name) \(T.self): \(Self.relative(out.fused, out.unfused))")
                #expect(Self.stepKinds(model, x).contains { $0.hasPrefix("Conv2D + BatchNorm") }, "\(name): nothing fused")
            }
            if double { try check(Double.self, tolerance: Self.doubleTolerance) } else { try check(Float.self, tolerance: Self.floatTolerance) }
        }
    }

    /// One training step (forward, backward, Adam) of `model` on `x`.
    static func trainingStep<T: NetworkScalar>(_ model: Sequential<T>, _ x: Tensor<T>, optimizer: inout Adam<T>) -> Matrix<T> {
        model.zeroGradients()
        let y = model.forward(x, training: true)
        _ = model.backward(Tensor(Matrix(rows: y.values.rows, columns: y.values.columns, repeating: 1), shape: y.shape))
        optimizer.step(model)
        return y.values
    }

    @Test("the folded weights follow every change: loaded weights, a training step, in-place and assigned statistics",
          arguments: [ConvolutionAlgorithm.automatic, .winograd])
    func invalidation(algorithm: ConvolutionAlgorithm) throws {
        let weights = try Fixtures.read("resnet18.safetensors")
        let expected = try Fixtures.read("resnet18-expected.safetensors")
        let x = try Fixtures.tensor(expected["input"]!)
        func fresh(_ state: TensorArchive<Float>) throws -> Matrix<Float> {
            let model = Fixtures.model("resnet18")
            model.visitDescendants { _, layer in (layer as? Conv2D<Float>)?.algorithm = algorithm }
            try model.importState(state)
            return model(x).values
        }
        let model = Fixtures.model("resnet18")
        model.visitDescendants { _, layer in (layer as? Conv2D<Float>)?.algorithm = algorithm }
        Self.randomizeStatistics(model, seed: 3)
        let initial = model(x).values   // builds the folded weights (and Winograd transforms)
        #expect(initial == (try fresh(model.exportState())))

        // New weights by name.
        try Backbones.load(weights, into: model, kind: .resnet18, source: "resnet18.safetensors")
        let loaded = model(x).values
        #expect(loaded != initial)
        #expect(loaded == (try fresh(model.exportState())), "after loadWeights")

        // A training step: new weights (Adam) and running statistics (batch statistics).
        var optimizer = Adam<Float>(learningRate: 1e-2)
        _ = Self.trainingStep(model, x, optimizer: &optimizer)
        let trained = model(x).values
        #expect(trained != loaded)
        #expect(trained == (try fresh(model.exportState())), "after a training step")

        // A running statistic changed in place, a weight assigned.
        let bn = try #require(model.descendant(at: "layer4.1.bn2") as? BatchNorm<Float>)
        bn.runningMean[0, 3] += 0.5
        let shifted = model(x).values
        #expect(shifted != trained)
        #expect(shifted == (try fresh(model.exportState())), "after an in-place running-mean change")
        let conv = try #require(model.descendant(at: "layer4.1.conv2") as? Conv2D<Float>)
        var w = conv.weight
        w[0, 0] += 0.25
        conv.weight = w
        let assigned = model(x).values
        #expect(assigned != shifted)
        #expect(assigned == (try fresh(model.exportState())), "after assigning a weight")

        // Through visitParameters, as an optimizer or importState writes.
        model.visitParameters { name, value, _ in if name == "layer1.0.conv1.weight" { value[1, 1] -= 0.1 } }
        #expect(model(x).values == (try fresh(model.exportState())), "after an in-place weight change")
    }

    @Test("training and frozen-statistics training are bit-identical with evaluation passes fused in between or not",
          arguments: [false, true])
    func trainingUnchanged(frozenStatistics: Bool) throws {
        let expected = try Fixtures.read("resnet18-expected.safetensors")
        let x = try Fixtures.tensor(expected["input"]!)
        let pool = ThreadPool(threads: 2)
        var runs: [(outputs: [Matrix<Float>], evaluations: [Matrix<Float>], state: TensorArchive<Float>)] = []
        for fused in [true, false] {
            let model = Fixtures.model("resnet18")
            try Backbones.load(try Fixtures.read("resnet18.safetensors"), into: model, kind: .resnet18, source: "resnet18")
            if frozenStatistics { model.freezeBatchNormStatistics() }
            model.visitDescendants { _, layer in (layer as? Conv2D<Float>)?.algorithm = .winograd }
            model.use(pool: pool)
            model.useInferenceFusion(fused)
            var optimizer = Adam<Float>(learningRate: 1e-2, pool: pool)
            var outputs: [Matrix<Float>] = [], evaluations: [Matrix<Float>] = []
            for _ in 0..<3 {
                evaluations.append(model(x).values)
                outputs.append(Self.trainingStep(model, x, optimizer: &optimizer))
            }
            runs.append((outputs, evaluations, model.exportState()))
        }
        #expect(runs[0].outputs == runs[1].outputs, "training outputs differ")
        #expect(runs[0].state == runs[1].state, "weights or running statistics differ after training")
        for (a, b) in zip(runs[0].evaluations, runs[1].evaluations) {
            #expect(Self.relative(a, b) <= Self.floatTolerance)
        }
    }

    @Test("repeated fused passes at a fixed thread count give the same numbers, and gradients after one are the unfused ones")
    func determinismAndBackward() throws {
        let (model, shape) = Self.liteBlocks(as: Double.self)
        let x = Self.input(batch: 4, shape: shape, seed: 8, as: Double.self)
        let pool = ThreadPool(threads: 2)
        model.use(pool: pool)
        let first = model(x).values, second = model(x).values
        #expect(first == second)
        let (twin, _) = Self.liteBlocks(as: Double.self)
        twin.use(pool: pool)
        #expect(twin(x).values == first)

        // Backward after a fused evaluation pass replays the layers unfused: the same gradients.
        let g = Self.input(batch: 4, shape: .vector(64), seed: 9, as: Double.self)
        func gradients(fused: Bool) -> (Matrix<Double>, TensorArchive<Double>) {
            model.useInferenceFusion(fused)
            model.zeroGradients()
            _ = model.forward(x, training: false)
            let dx = model.backward(g).values
            var archive = TensorArchive<Double>()
            model.visitParameters { name, _, gradient in archive.tensors[name] = gradient }
            return (dx, archive)
        }
        let unfused = gradients(fused: false), fused = gradients(fused: true)
        #expect(fused.0 == unfused.0)
        #expect(fused.1 == unfused.1)
    }
}
