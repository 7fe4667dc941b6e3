import Testing
import DMLNetworks
import DMLNumerics

/// `BatchNorm(activation:)` against its oracle, the separate layers `BatchNorm → ReLU` (or
/// `Activation(.relu6)`): the same outputs, input and parameter gradients and running statistics
/// in every mode (training with this batch's statistics, the one-pass fused kernels; frozen
/// statistics; evaluation; frozen parameters), with and without a pool; central finite
/// differences through the fused pass; the evaluation-mode plan folding it into a convolution.
@Suite struct FusedBatchNormActivationTests {
    /// What one forward + backward pass of a network produces.
    struct Pass {
        var output: Matrix<Double>
        var inputGradient: Matrix<Double>
        var gamma: Matrix<Double>
        var beta: Matrix<Double>
        var runningMean: Matrix<Double>
        var runningVariance: Matrix<Double>
    }

    /// A batch norm of 3 channels with spread-out γ, β and running statistics (so both sides of
    /// the kinks at 0 and 6 are hit), fused with `function` or followed by its own layer.
    static func network(fused: Bool, function: ActivationFunction, frozenStatistics: Bool, frozen: Bool,
                        threads: Int?) -> (Sequential<Double>, BatchNorm<Double>) {
        let bn = BatchNorm<Double>(channels: 3, activation: fused ? function : nil)
        var rng = SeededGenerator(seed: 21)
        bn.gamma = Matrix(rows: 1, columns: 3, elements: rng.normalMatrix(rows: 1, columns: 3, as: Double.self).elements.map { 3 * $0 })
        bn.beta = Matrix(rows: 1, columns: 3, elements: rng.normalMatrix(rows: 1, columns: 3, as: Double.self).elements.map { 2 * $0 + 1 })
        bn.runningMean = rng.normalMatrix(rows: 1, columns: 3)
        bn.runningVariance = rng.uniformMatrix(rows: 1, columns: 3, low: 0.5, high: 2)
        bn.freezesStatistics = frozenStatistics
        bn.isFrozen = frozen
        let model = Sequential<Double>(named: [("bn", bn)])
        if !fused { model.append(function == .relu ? ReLU<Double>() : Activation<Double>(function), name: "f") }
        model.use(pool: threads.map { ThreadPool(threads: $0) })
        return (model, bn)
    }

    static func run(fused: Bool, function: ActivationFunction, training: Bool, frozenStatistics: Bool = false,
                    frozen: Bool = false, threads: Int? = nil) -> Pass {
        let (model, bn) = network(fused: fused, function: function, frozenStatistics: frozenStatistics, frozen: frozen, threads: threads)
        model.useInferenceFusion(false)
        let shape = TensorShape(channels: 3, height: 5, width: 7)
        var rng = SeededGenerator(seed: 22)
        let x = Tensor(rng.normalMatrix(rows: 4, columns: shape.count, as: Double.self), shape: shape)
        let g = Tensor(rng.normalMatrix(rows: 4, columns: shape.count, as: Double.self), shape: shape)
        let y = model.forward(x, training: training)
        let dx = model.backward(g)
        return Pass(output: y.values, inputGradient: dx.values, gamma: bn.gammaGradient, beta: bn.betaGradient,
                    runningMean: bn.runningMean, runningVariance: bn.runningVariance)
    }

    static func relative(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Double {
        let scale = b.elements.map(abs).max() ?? 0
        return Double(a.maxAbsDifference(b)) / max(scale, 1e-300)
    }

    @Test("The same values as BatchNorm then the activation layer, in every mode, with and without a pool",
          arguments: ActivationFunction.allCases)
    func matchesSeparateLayers(function: ActivationFunction) {
        let modes: [(training: Bool, frozenStatistics: Bool, frozen: Bool)] = [
            (true, false, false), (true, false, true), (true, true, false), (false, false, false),
        ]
        for mode in modes {
            for threads in [nil, 2, 3] as [Int?] {
                let reference = Self.run(fused: false, function: function, training: mode.training,
                                         frozenStatistics: mode.frozenStatistics, frozen: mode.frozen, threads: threads)
                let fused = Self.run(fused: true, function: function, training: mode.training,
                                     frozenStatistics: mode.frozenStatistics, frozen: mode.frozen, threads: threads)
                let label = "\(function), \(mode), \(String(describing: threads)) threads"
                // The forward pass is the same arithmetic in the same order: the same bits.
                #expect(fused.output == reference.output, "\(label)")
                #expect(fused.runningMean == reference.runningMean && fused.runningVariance == reference.runningVariance, "\(label)")
                // The backward sums may be associated differently by the vectorizer.
                #expect(Self.relative(fused.inputGradient, reference.inputGradient) < 1e-12, "\(label)")
                #expect(Self.relative(fused.gamma, reference.gamma) < 1e-12, "\(label)")
                #expect(Self.relative(fused.beta, reference.beta) < 1e-12, "\(label)")
                if mode.frozen { #expect(fused.gamma.elements.allSatisfy { $0 == 0 }, "\(label)") }
            }
        }
        // Both kinks are exercised: some outputs are clipped at 0 (and, for ReLU6, at 6).
        let output = Self.run(fused: true, function: function, training: true).output.elements
        #expect(output.contains(0) && output.contains { $0 > 0 })
        if function == .relu6 { #expect(output.contains(6)) }
    }

    @Test("Central finite differences through the fused training pass", arguments: ActivationFunction.allCases)
    func finiteDifferences(function: ActivationFunction) {
        let layer = BatchNorm<Double>(channels: 3, activation: function)
        var rng = SeededGenerator(seed: 23)
        layer.gamma = rng.normalMatrix(rows: 1, columns: 3)
        layer.beta = Matrix(rows: 1, columns: 3, elements: rng.normalMatrix(rows: 1, columns: 3, as: Double.self).elements.map { $0 + 0.5 })
        let check = LayerGradientCheck(layer, input: randomTensor(batch: 3, shape: TensorShape(channels: 3, height: 2, width: 3), seed: 24))
        #expect(check.parameterErrors.keys.sorted() == ["bias", "weight"])
        #expect(check.worst < LayerGradientTests.tolerance)
    }

    @Test("A second backward pass after one fused forward pass is refused, not computed from a released input")
    func oneBackwardPerForward() async {
        await #expect(processExitsWith: .failure) {
            let layer = BatchNorm<Double>(channels: 2, activation: .relu)
            let x = randomTensor(batch: 2, shape: TensorShape(channels: 2, height: 2, width: 2), seed: 25)
            _ = layer.forward(x, training: true)
            _ = layer.backward(x)
            _ = layer.backward(x)
        }
    }

    @Test("Evaluation mode folds Conv → BatchNorm(activation) into one step, equal to the layers run one by one")
    func inferencePlanFoldsIt() {
        var rng = SeededGenerator(seed: 26)
        let conv = Conv2D<Double>(2, 3, kernelSize: 3, padding: 1, bias: false, generator: &rng)
        let (_, bn) = Self.network(fused: true, function: .relu6, frozenStatistics: false, frozen: false, threads: nil)
        let model = Sequential<Double>(named: [("conv", conv), ("bn", bn)])
        let x = randomTensor(batch: 2, shape: TensorShape(channels: 2, height: 6, width: 6), seed: 27)
        let folded = model.forward(x, training: false).values
        model.useInferenceFusion(false)
        let plain = model.forward(x, training: false).values
        #expect(Self.relative(folded, plain) < 1e-12)
        #expect(folded.elements.contains(6) || folded.elements.contains(0))
    }
}
