import Foundation
import Testing
import DMLNetworks
import DMLNumerics

/// The layers against PyTorch: `Tests/Fixtures/networks/torch-layers.json`, written by
/// `scripts/fixtures/make_layer_fixtures.py` (float64; outputs, input and parameter gradients of
/// `L = Σ R ⊙ y`).
@Suite struct TorchLayerFixtureTests {
    struct Case: Decodable {
        let name: String
        let kind: String
        let config: [String: [Int]]
        let input_shape: [Int]
        let input: [Double]
        let output_shape: [Int]
        let output: [Double]
        let output_gradient: [Double]
        let input_gradient: [Double]
        let parameters: [String: [Double]]
        let parameter_gradients: [String: [Double]]
        let running_mean_before: [Double]?
        let running_var_before: [Double]?
        let running_mean_after: [Double]?
        let running_var_after: [Double]?
    }

    struct Fixture: Decodable { let cases: [Case] }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/networks/torch-layers.json")
        guard let data = try? Data(contentsOf: url), let fixture = try? JSONDecoder().decode(Fixture.self, from: data) else {
            return []
        }
        return fixture.cases
    }()

    static func tensor(_ values: [Double], shape: [Int]) -> Tensor<Double> {
        let sample = TensorShape(channels: shape[1], height: shape.count > 2 ? shape[2] : 1, width: shape.count > 3 ? shape[3] : 1)
        return Tensor(Matrix(rows: shape[0], columns: sample.count, elements: values), shape: sample)
    }

    static func layer(for c: Case) -> any Layer<Double> {
        let k = c.config
        switch c.kind {
        case "conv":
            var rng = SeededGenerator(seed: 0)
            let p = k["padding"]!
            let layer = Conv2D<Double>(k["channels"]![0], k["outputs"]![0], kernel: Size2D(height: k["kernel"]![0], width: k["kernel"]![1]),
                                       stride: Size2D(height: k["stride"]![0], width: k["stride"]![1]),
                                       padding: Padding2D(top: p[0], bottom: p[1], left: p[2], right: p[3]),
                                       groups: k["groups"]![0], bias: k["bias"]![0] == 1, generator: &rng)
            layer.weight = Matrix(rows: layer.weight.rows, columns: layer.weight.columns, elements: c.parameters["weight"]!)
            if let b = c.parameters["bias"] { layer.bias = Matrix(rows: 1, columns: b.count, elements: b) }
            return layer
        case "maxpool":
            return MaxPool2D<Double>(kernelSize: k["kernel"]![0], stride: k["stride"]![0], padding: k["padding"]![0], ceilMode: k["ceil"]![0] == 1)
        case "avgpool":
            return AvgPool2D<Double>(kernelSize: k["kernel"]![0], stride: k["stride"]![0], padding: k["padding"]![0],
                                     ceilMode: k["ceil"]![0] == 1, countIncludesPadding: k["include_pad"]![0] == 1)
        case "adaptiveavg":
            return GlobalAvgPool<Double>()
        case "relu6":
            return Activation<Double>(.relu6)
        case "batchnorm":
            let channels = k["channels"]![0]
            let layer = BatchNorm<Double>(channels: channels, momentum: 0.01, epsilon: 1e-3)
            layer.gamma = Matrix(rows: 1, columns: channels, elements: c.parameters["weight"]!)
            layer.beta = Matrix(rows: 1, columns: channels, elements: c.parameters["bias"]!)
            layer.runningMean = Matrix(rows: 1, columns: channels, elements: c.running_mean_before!)
            layer.runningVariance = Matrix(rows: 1, columns: channels, elements: c.running_var_before!)
            return layer
        default:
            preconditionFailure("unknown fixture kind \(c.kind)")
        }
    }

    static func maxRelativeError(_ a: [Double], _ b: [Double]) -> Double {
        let scale = max(b.map(abs).max() ?? 0, 1e-300)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    @Test func fixtureIsPresent() {
        #expect(Self.cases.count == 20)
    }

    /// The comparison can fail: the pooling options the fixtures exercise change the numbers.
    @Test func theWrongPoolingOptionsDoNotMatch() throws {
        let exclude = try #require(Self.cases.first { $0.name == "avg 3 s2 p1 ceil exclude" })
        let x = Self.tensor(exclude.input, shape: exclude.input_shape)
        let including = AvgPool2D<Double>(kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludesPadding: true)
        #expect(Self.maxRelativeError(including.forward(x, training: false).values.elements, exclude.output) > 1e-3)
        let ceil = try #require(Self.cases.first { $0.name == "googlenet max 3 s2 ceil" })
        let floor = MaxPool2D<Double>(kernelSize: 3, stride: 2)
        #expect(floor.forward(Self.tensor(ceil.input, shape: ceil.input_shape), training: false).values.count != ceil.output.count)
    }

    @Test(arguments: cases.map(\.name))
    func matchesPyTorch(_ name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let layer = Self.layer(for: c)
        let x = Self.tensor(c.input, shape: c.input_shape)
        let training = c.kind != "batchnorm" || c.config["training"]![0] == 1
        let y = layer.forward(x, training: training)
        #expect(y.values.count == c.output.count)
        #expect(Self.tensor(c.output, shape: c.output_shape).shape.count == y.shape.count)
        #expect(Self.maxRelativeError(y.values.elements, c.output) < 1e-12, "\(name) output")
        layer.zeroGradients()
        let dx = layer.backward(Tensor(Matrix(rows: y.batch, columns: y.shape.count, elements: c.output_gradient), shape: y.shape))
        #expect(Self.maxRelativeError(dx.values.elements, c.input_gradient) < 1e-12, "\(name) input gradient")
        var gradients: [String: [Double]] = [:]
        layer.visitParameters { n, _, g in gradients[n] = g.elements }
        #expect(Set(gradients.keys) == Set(c.parameter_gradients.keys))
        for (n, expected) in c.parameter_gradients {
            #expect(Self.maxRelativeError(gradients[n]!, expected) < 1e-12, "\(name) \(n) gradient")
        }
        if let bn = layer as? BatchNorm<Double> {
            #expect(Self.maxRelativeError(bn.runningMean.elements, c.running_mean_after!) < 1e-12)
            #expect(Self.maxRelativeError(bn.runningVariance.elements, c.running_var_after!) < 1e-12)
        }
    }
}
