import Foundation
import Testing
@testable import DMLWeights

/// Every fixture written by PyTorch / `safetensors` reads back with the exact dtype, shape,
/// bytes and values PyTorch reported.
@Suite struct FixtureTests {
    static func check(_ contents: WeightFileContents, against expected: Fixtures.File, file: String) throws {
        #expect(Set(contents.tensors.keys) == Set(expected.tensors.keys), "\(file)")
        #expect(contents.names.count == contents.tensors.count && Set(contents.names) == Set(contents.tensors.keys))
        for (name, want) in expected.tensors {
            guard let got = contents.tensors[name] else { Issue.record("\(file): \(name) is missing"); continue }
            #expect(got.elementType.rawValue == want.dtype, "\(file) \(name)")
            #expect(got.shape == want.shape, "\(file) \(name)")
            #expect(got.bytes == want.bytes, "\(file) \(name)")
            if got.elementType.isFloatingPoint {
                #expect(try got.doubleValues() == want.values, "\(file) \(name)")
            } else {
                #expect(try got.integerValues().map(Double.init) == want.values, "\(file) \(name)")
            }
        }
    }

    @Test(arguments: Fixtures.allFiles)
    func everyTensorMatchesPyTorch(file: String) throws {
        let contents = try WeightFile.read(path: Fixtures.path(file))
        let expected = try #require(Fixtures.expected[file])
        try Self.check(contents, against: expected, file: file)
        #expect(contents.stateDictKey == expected.key)
        if let metadata = expected.metadata { #expect(contents.metadata == metadata) }
        let format: WeightFileFormat = file.hasSuffix(".safetensors") ? .safetensors : file.contains("legacy") ? .pytorchLegacy : .pytorchZip
        #expect(contents.format == format)
    }

    @Test func stateDictOrderIsThePickleOrder() throws {
        let names = ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                     "bn.num_batches_tracked", "fc.weight", "fc.bias"]
        for file in ["state_zip.pth", "state_legacy.pth", "nested_state_dict.pth", "nested_model_legacy.pth"] {
            let contents = try WeightFile.read(path: Fixtures.path(file))
            #expect(contents.names == names, "\(file)")
            #expect(try contents.tensors["bn.num_batches_tracked"]?.integerValues() == [17])
            #expect(contents.tensors["bn.num_batches_tracked"]?.shape == [])
        }
    }

    @Test func zipAndLegacyGiveTheSameTensors() throws {
        #expect(try WeightFile.read(path: Fixtures.path("state_zip.pth")).tensors
            == WeightFile.read(path: Fixtures.path("state_legacy.pth")).tensors)
        #expect(try WeightFile.read(path: Fixtures.path("views_zip.pth")).tensors
            == WeightFile.read(path: Fixtures.path("views_legacy.pth")).tensors)
    }

    /// Hand-checked views: the transposed, sliced, offset and expanded tensors of `base`.
    @Test func stridedViewsAreCopiedInCOrder() throws {
        let t = try WeightFile.read(path: Fixtures.path("views_legacy.pth")).tensors
        let base = (0..<24).map { Double($0) * 0.5 - 3 }
        #expect(try t["base"]!.doubleValues() == base)
        #expect(t["transposed"]!.shape == [6, 4])
        #expect(try t["transposed"]!.doubleValues() == (0..<6).flatMap { j in (0..<4).map { i in base[6 * i + j] } })
        #expect(try t["sliced"]!.doubleValues() == [6, 8, 10, 12, 14, 16].map { base[$0] })
        #expect(try t["row"]!.doubleValues() == Array(base[12..<18]))
        #expect(t["element"]!.shape == [])
        #expect(try t["element"]!.doubleValues() == [base[22]])
        let expanded = try t["expanded"]!.doubleValues()
        #expect(t["expanded"]!.shape == [3, 4])
        for i in 0..<3 { #expect(Set(expanded[(4 * i)..<(4 * i + 4)]).count == 1) }
        #expect(t["empty"]!.shape == [0, 3] && t["empty"]!.bytes.isEmpty)
        #expect(try t["int32"]!.integerValues() == [-3, -2, 1, 2, 5, 6])
    }

    @Test func unknownGlobalIsRefusedNotRun() throws {
        let error = weightError { try WeightFile.read(path: Fixtures.path("evil_global.pth")) }
        #expect(error?.kind == .forbiddenGlobal(module: "posix", name: "system"))
        #expect(error?.file == Fixtures.path("evil_global.pth"))
        #expect(error?.description.contains("posix.system") == true)
    }
}
