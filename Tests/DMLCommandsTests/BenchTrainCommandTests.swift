import Testing
import DMLNumerics
import DMLNetworks
import DMLBenchmarks
@testable import DMLCommands

/// `dml bench train`: the option checks and the per-kind profile table.
@Suite struct BenchTrainCommandTests {
    @Test func inferenceNeedsABackboneAndNoGuardCost() throws {
        for arguments in [["--inference"], ["--backbone", "resnet18", "--inference", "--guard-cost"], ["--unfused"]] {
            let error = #expect(throws: (any Error).self, "\(arguments)") { try BenchTrainCommand.parse(arguments) }
            #expect(error.map { BenchTrainCommand.message(for: $0) }?.contains("--") == true, "\(arguments)")
        }
        let ok = try BenchTrainCommand.parse(["--backbone", "efficientnet-lite0", "--inference", "--convolution", "perSample"])
        #expect(ok.inference && ok.convolution == .perSample && !ok.unfused)
        let profiled = try BenchTrainCommand.parse(["--backbone", "resnet18", "--inference", "--profile", "--unfused"])
        #expect(profiled.inference && profiled.profile && profiled.unfused)
        #expect(try BenchTrainCommand.parse([]).convolution == .automatic)
    }

    @Test("--scaling-rounds needs more than one thread and the small CNN alone")
    func scalingRoundsOptions() throws {
        for arguments in [["--scaling-rounds", "3", "--threads", "1"], ["--scaling-rounds", "0", "--threads", "2"],
                          ["--scaling-rounds", "2", "--threads", "2", "--backbone", "resnet18"],
                          ["--scaling-rounds", "2", "--threads", "2", "--profile"], ["--scaling-rounds", "2", "--threads", "2", "--torch"]] {
            let error = #expect(throws: (any Error).self, "\(arguments)") { try BenchTrainCommand.parse(arguments) }
            #expect(error.map { BenchTrainCommand.message(for: $0) }?.contains("--scaling-rounds") == true, "\(arguments)")
        }
        let ok = try BenchTrainCommand.parse(["--scaling-rounds", "4", "--threads", "2"])
        #expect(ok.scalingRounds == 4 && ok.threads == 2)
    }

    @Test func theInferenceProfileTableListsStepsAndFusedKinds() throws {
        var g = SeededGenerator(seed: 3)
        let model = Sequential<Float>(named: [
            ("conv1", Conv2D<Float>(3, 8, kernelSize: 3, padding: 1, bias: false, generator: &g)),
            ("bn1", BatchNorm<Float>(channels: 8)),
            ("relu", ReLU<Float>()),
            ("block", Residual<Float>(named: [("conv", Conv2D<Float>(8, 8, kernelSize: 1, bias: false, generator: &g)),
                                              ("bn", BatchNorm<Float>(channels: 8))], activation: .relu)),
            ("pool", GlobalAvgPool<Float>()),
        ])
        let shape = TensorShape(channels: 3, height: 6, width: 6)
        let result = InferenceBenchmark.run(model: model, input: shape, batchSize: 2, iterations: 2, warmup: 1, profile: true)
        let profile = try #require(result.profile)
        #expect(profile.steps.map(\.name) == ["conv1+bn1+relu", "block", "pool"])
        #expect(profile.steps.allSatisfy { $0.forward > 0 } && profile.steps[0].gemm > 0)
        let kinds = profile.kinds.map(\.kind)
        #expect(kinds == ["Conv2D 3×3 im2col + BatchNorm + ReLU", "Conv2D pointwise + BatchNorm + residual sum + relu", "GlobalAvgPool"],
                "\(kinds)")
        #expect(profile.kinds.allSatisfy { $0.count == 1 && $0.backward == 0 })
        let table = BenchTrainCommand.table(profile)
        for row in ["| conv1+bn1+relu |", "| Conv2D 3×3 im2col + BatchNorm + ReLU | 1 |", "| batch |"] {
            #expect(table.contains(row), "no \(row) in\n\(table)")
        }
        // Unfused, every layer is its own kind.
        model.useInferenceFusion(false)
        let plain = try #require(InferenceBenchmark.run(model: model, input: shape, batchSize: 2, iterations: 1, warmup: 0,
                                                        profile: true).profile)
        #expect(plain.steps.map(\.name) == ["conv1", "bn1", "relu", "block", "pool"])
        #expect(plain.kinds.map(\.kind).contains("BatchNorm"))
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
        for row in ["| layer kind | layers |", "| Conv2D 3×3 im2col | 1 |", "| Conv2D pointwise | 1 |", "| BatchNorm | 1 |",
                    "| Linear | 1 |", "| containers (residual sums, concatenation) |", "| backbone | Sequential |"] {
            #expect(table.contains(row), "no \(row) in\n\(table)")
        }
    }
}
