import Testing
import DMLNetworks
import DMLNumerics
import DMLWeights

extension SeededGenerator {
    /// A seeded normal matrix from a generator value (for one-line test inputs).
    func normalMatrixValues(rows: Int, columns: Int) -> Matrix<Double> {
        var copy = self
        return copy.normalMatrix(rows: rows, columns: columns)
    }
}

/// Weights by dotted name with logical shapes: export, load, and one error listing every problem.
@Suite struct NamedWeightsTests {
    static func trainedResNet(seed: UInt64) -> Sequential<Double> {
        let model = Blocks.resnet(seed: seed)
        var rng = SeededGenerator(seed: seed &+ 100)
        _ = model.forward(Tensor(rng.normalMatrix(rows: 3, columns: 3 * 12 * 12), shape: TensorShape(channels: 3, height: 12, width: 12)), training: true)
        return model
    }

    @Test func exportedWeightsHaveLogicalShapesAndLoadBackIdentically() throws {
        let source = Self.trainedResNet(seed: 1)
        let weights = source.exportWeights()
        #expect(weights["conv1.weight"]?.shape == [4, 3, 3, 3])
        #expect(weights["layer2.0.downsample.0.weight"]?.shape == [6, 4, 1, 1])
        #expect(weights["layer1.1.bn2.running_var"]?.shape == [4])
        #expect(weights["fc.weight"]?.shape == [5, 6])
        #expect(weights.values.allSatisfy { $0.elementType == .float32 })
        #expect(weights.count == source.weightDescriptors().count)
        // Values in the same row-major order as PyTorch: conv1.weight[o=1, c=2, i=0, j=1].
        let conv = try #require(source["conv1"] as? Conv2D<Double>)
        let stored = try weights["conv1.weight"]!.floatValues()
        #expect(stored[((1 * 3 + 2) * 3 + 0) * 3 + 1] == Float(conv.weight[1, (2 * 3 + 0) * 3 + 1]))

        let target = Blocks.resnet(seed: 2)
        #expect(target.exportWeights() != weights)
        try target.loadWeights(weights)
        #expect(target.exportWeights() == weights)
        // Float models round-trip bit for bit.
        let floatModel = ModelPresets.convolutional(input: TensorShape(channels: 1, height: 6, width: 6), widths: [2, 3],
                                                    embeddingDimension: 4, seed: 3, as: Float.self)
        let other = ModelPresets.convolutional(input: TensorShape(channels: 1, height: 6, width: 6), widths: [2, 3],
                                               embeddingDimension: 4, seed: 4, as: Float.self)
        try other.loadWeights(floatModel.exportWeights())
        #expect(other.exportState() == floatModel.exportState())
    }

    @Test func everyProblemIsListedByNameInOneError() throws {
        let model = Blocks.resnet(seed: 5)
        var weights = model.exportWeights()
        weights["layer1.0.conv1.weight"] = nil
        weights["bn1.running_mean"] = nil
        weights["fc.weight"] = try StoredTensor(shape: [5, 7], float32: [Float](repeating: 0, count: 35))
        weights["conv1.weight"] = try StoredTensor(shape: [4, 27], float32: [Float](repeating: 0, count: 108))
        weights["aux1.fc.weight"] = try StoredTensor(shape: [1], float32: [0])
        weights["bn1.num_batches_tracked"] = try StoredTensor(elementType: .int64, shape: [], bytes: [UInt8](repeating: 0, count: 8))
        weights["layer1.0.bn1.bias"] = try StoredTensor(elementType: .int32, shape: [4], bytes: [UInt8](repeating: 0, count: 16))
        let before = model.exportState()
        do {
            try model.loadWeights(weights, source: "resnet.safetensors")
            Issue.record("loading mismatched weights succeeded")
        } catch {
            #expect(error.missing == ["bn1.running_mean", "layer1.0.conv1.weight"])
            #expect(error.unexpected == ["aux1.fc.weight"])
            #expect(error.mismatched.map(\.name) == ["conv1.weight", "fc.weight"])
            #expect(error.mismatched.first?.expected == [4, 3, 3, 3] && error.mismatched.first?.found == [4, 27])
            #expect(error.unconvertible.keys.sorted() == ["layer1.0.bn1.bias"])
            let message = error.description
            #expect(message.hasPrefix("resnet.safetensors: "))
            for name in ["bn1.running_mean", "layer1.0.conv1.weight", "aux1.fc.weight", "conv1.weight is [4, 27], the model expects [4, 3, 3, 3]"] {
                #expect(message.contains(name), "\(name)")
            }
        }
        #expect(model.exportState() == before)
    }

    @Test func weightsWithTheEarlierBatchNormNamesLoad() throws {
        let source = Self.trainedResNet(seed: 9)
        let current = source.exportWeights()
        var legacy: [String: StoredTensor] = [:]
        for (name, tensor) in current {
            let renamed = name.replacingOccurrences(of: ".running_mean", with: ".runningMean")
                .replacingOccurrences(of: ".running_var", with: ".runningVariance")
            legacy[renamed] = tensor
        }
        #expect(legacy["bn1.runningVariance"] != nil && legacy["bn1.running_var"] == nil)
        let target = Blocks.resnet(seed: 10)
        try target.loadWeights(legacy)
        #expect(target.exportWeights() == current)
        // A file with both names reads the PyTorch one and calls the old one unexpected.
        legacy["bn1.running_mean"] = current["bn1.running_mean"]
        legacy["bn1.runningMean"] = try StoredTensor(shape: [4], float32: [9, 9, 9, 9])
        do {
            try target.loadWeights(legacy)
            Issue.record("a file with both names for one buffer loaded")
        } catch {
            #expect(error.unexpected == ["bn1.runningMean"] && error.missing.isEmpty)
        }
    }

    @Test func ignoredPrefixesDropTheClassifierOnBothSides() throws {
        let pretrained = Self.trainedResNet(seed: 6)
        var weights = pretrained.exportWeights()
        weights["layer1.0.bn1.num_batches_tracked"] = try StoredTensor(elementType: .int64, shape: [], bytes: [UInt8](repeating: 0, count: 8))
        // A backbone with a new head `embedding` instead of `fc`.
        var g = SeededGenerator(seed: 7)
        let backbone = Blocks.resnet(seed: 8)
        let model = Sequential<Double>(named: backbone.layers.filter { $0.name != "fc" }.map { ($0.name, $0.layer) }
                                       + [("embedding", Linear<Double>(6, 3, generator: &g))])
        #expect(throws: WeightLoadingError.self) { try model.loadWeights(weights) }
        let head = try #require(model["embedding"] as? Linear<Double>).weight
        try model.loadWeights(weights, options: WeightLoadingOptions(ignoredPrefixes: ["fc.", "embedding."]))
        #expect(try #require(model["embedding"] as? Linear<Double>).weight == head)
        let loaded = model.exportWeights()
        for (name, tensor) in weights where !name.hasPrefix("fc.") && !name.hasSuffix("num_batches_tracked") {
            #expect(loaded[name] == tensor, "\(name)")
        }
    }

    @Test func aSafetensorsRoundTripIsIdentical() throws {
        let source = Self.trainedResNet(seed: 11)
        let bytes = try SafeTensors.serialize(source.exportWeights())
        let file = try SafeTensors.parse(bytes, file: "resnet.safetensors")
        let target = Blocks.resnet(seed: 12)
        try target.loadWeights(file.tensors, source: "resnet.safetensors")
        #expect(target.exportWeights() == source.exportWeights())
        let x = Tensor(SeededGenerator(seed: 13).normalMatrixValues(rows: 2, columns: 3 * 12 * 12), shape: TensorShape(channels: 3, height: 12, width: 12))
        // Weights pass through float32: evaluation outputs agree to float precision.
        #expect(target.forward(x, training: false).values.maxAbsDifference(source.forward(x, training: false).values) < 1e-5)
    }

    @Test func float64AndHalfTensorsAreConverted() throws {
        var g = SeededGenerator(seed: 9)
        let layer = Linear<Double>(2, 1, generator: &g)
        var bytes: [UInt8] = []
        for v in [0.25, -1.5] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        // 2.0 as IEEE binary16 is 0x4000.
        try layer.loadWeights(["weight": StoredTensor(elementType: .float64, shape: [1, 2], bytes: bytes),
                               "bias": StoredTensor(elementType: .float16, shape: [1], bytes: [0x00, 0x40])])
        #expect(layer.weight == Matrix([[0.25, -1.5]]))
        #expect(layer.bias == Matrix([[2]]))
    }
}
