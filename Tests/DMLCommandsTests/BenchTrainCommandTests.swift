import Testing
import DMLNumerics
import DMLNetworks
import DMLBenchmarks
@testable import DMLCommands

/// `dml bench train`: the option checks and the per-kind profile table.
@Suite struct BenchTrainCommandTests {
    @Test func inferenceNeedsABackboneAndNoProfile() throws {
        for arguments in [["--inference"], ["--backbone", "resnet18", "--inference", "--profile"],
                          ["--backbone", "resnet18", "--inference", "--guard-cost"]] {
            let error = #expect(throws: (any Error).self, "\(arguments)") { try BenchTrainCommand.parse(arguments) }
            #expect(error.map { BenchTrainCommand.message(for: $0) }?.contains("--inference") == true, "\(arguments)")
        }
        let ok = try BenchTrainCommand.parse(["--backbone", "efficientnet-lite0", "--inference", "--convolution", "perSample"])
        #expect(ok.inference && ok.convolution == .perSample)
        #expect(try BenchTrainCommand.parse([]).convolution == .automatic)
    }

    @Test func theProfileTableListsTheLayerKinds() throws {
        var g = SeededGenerator(seed: 2)
        let backbone = Sequential<Float>(named: [
            ("conv", Conv2D<Float>(3, 8, kernelSize: 3, padding: 1, generator: &g)),
            ("expand", Residual<Float>(named: [("pw", Conv2D<Float>(8, 8, kernelSize: 1, generator: &g)),
                                               ("bn", BatchNorm<Float>(channels: 8))])),
            ("pool", GlobalAvgPool<Float>()),
        ])
        let model = Sequential<Float>(named: [("backbone", backbone), ("embedding", Linear<Float>(8, 4, generator: &g))])
        let result = TrainingBenchmark.run(model: model, input: TensorShape(channels: 3, height: 6, width: 6), batchSize: 2,
                                           iterations: 1, warmup: 0, profile: true)
        let table = BenchTrainCommand.table(try #require(result.profile))
        for row in ["| layer kind | layers |", "| Conv2D 3×3 | 1 |", "| Conv2D pointwise | 1 |", "| BatchNorm | 1 |",
                    "| Linear | 1 |", "| containers (residual sums, concatenation) |", "| backbone | Sequential |"] {
            #expect(table.contains(row), "no \(row) in\n\(table)")
        }
    }
}
