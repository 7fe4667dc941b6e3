import ArgumentParser
import Foundation
import Testing
@testable import DMLCommands
import DMLWeights

/// `dml weights` run in-process.
@Suite struct WeightsCommandTests {
    @Test(arguments: Fixtures.allFiles)
    func listsEveryTensorOfEveryFormat(file: String) throws {
        let report = try WeightsCommand.parse([Fixtures.path(file)]).execute()
        let expected = try #require(Fixtures.expected[file])
        #expect(report.rows.count == expected.tensors.count)
        for row in report.rows {
            let want = try #require(expected.tensors[row.name])
            #expect(row.dtype == want.dtype && row.shape == want.shape && row.elementCount == want.values.count)
        }
        #expect(report.totalElements == expected.tensors.values.reduce(0) { $0 + $1.values.count })
        #expect(report.stateDictKey == expected.key)
        let text = WeightsCommand.render(report, file: file)
        #expect(text.contains("total: \(report.totalElements) elements"))
    }

    @Test func renderIsAlignedAndComplete() throws {
        let report = try WeightsCommand.parse([Fixtures.path("nested_state_dict.pth")]).execute()
        let lines = WeightsCommand.render(report, file: "n.pth").split(separator: "\n").map(String.init)
        #expect(lines[0] == "n.pth: pytorch-zip, state dict under 'state_dict', 9 tensors")
        #expect(lines[1] == "name                    dtype  shape         elements")
        #expect(lines[2] == "conv.weight             F32    [4, 3, 3, 3]  108")
        #expect(lines[8] == "bn.num_batches_tracked  I64    []            1")
        #expect(lines.last == "total: 139 elements (0.00 M) in 9 tensors")  // 108 + 5·4 + 1 + 8 + 2
    }

    @Test(arguments: ["views_legacy.pth", "nested_state_dict.pth"])
    func convertsACheckpointToSafetensors(file: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dml-weights-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out.safetensors"
        let report = try WeightsCommand.parse([Fixtures.path(file), "--out", out]).execute()
        #expect(report.written == out)
        let original = try WeightFile.read(path: Fixtures.path(file))
        let converted = try WeightFile.read(path: out)
        #expect(converted.format == .safetensors && converted.tensors == original.tensors)
        #expect(converted.metadata == ["format": "pt"])
    }

    @Test func badFilesAreErrorsNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dml-weights-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = dir + "/model.pth"
        try Data("not weights".utf8).write(to: URL(fileURLWithPath: bad))
        let error = weightError { try WeightsCommand.parse([bad, "--out", dir + "/x.safetensors"]).execute() }
        #expect(error?.description.hasPrefix("\(bad): not a safetensors file") == true)
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.safetensors"))
        let missing = #expect(throws: (any Error).self) { try WeightsCommand.parse([]) }
        #expect(missing.map { WeightsCommand.message(for: $0) }?.contains("Missing expected argument") == true)
    }
}
