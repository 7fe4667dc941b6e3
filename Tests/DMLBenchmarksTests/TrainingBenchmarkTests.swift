import Testing
import DMLNetworks
import DMLNumerics
import DMLBenchmarks

/// The training micro-benchmark runs the real preset end to end and reports sane numbers.
@Suite struct TrainingBenchmarkTests {
    @Test func tinyRunReportsThroughputAndGEMMShare() {
        let result = TrainingBenchmark.run(batchSize: 2, iterations: 1, warmup: 1, embeddingDimension: 8)
        #expect(result.batchSize == 2 && result.iterations == 1)
        #expect(result.secondsPerIteration > 0 && result.imagesPerSecond.isFinite)
        #expect(result.cpuSecondsPerIteration > 0)
        #expect(result.gemmShare > 0 && result.gemmShare <= 1)
        // 1·9·32 + 32·9·64 + 64·9·128 conv weights, 2·(32 + 64 + 128) batch-norm, 128·8 + 8 head.
        #expect(result.parameterCount == 288 + 18_432 + 73_728 + 448 + 1_032)
        #expect(result.description.contains("images/s"))
    }

    @Test("independent copies: one single-thread run each, every copy reported")
    func independentCopiesEachRunOnOneThread() {
        let results = TrainingBenchmark.runIndependent(copies: 3, batchSize: 2, iterations: 2, warmup: 1, embeddingDimension: 8)
        #expect(results.count == 3)
        for result in results {
            #expect(result.threads == 1 && result.batchSize == 2 && result.iterations == 2)
            #expect(result.secondsPerIteration > 0 && result.imagesPerSecond.isFinite && result.imagesPerSecond > 0)
            #expect(result.parameterCount == 288 + 18_432 + 73_728 + 448 + 1_032)
            // A single-thread pool has no helpers, so no region reached a barrier.
            #expect(result.barrierSecondsPerIteration == 0)
        }
    }

    @Test func theProfileCountsEveryLeafOnceByKind() throws {
        var g = SeededGenerator(seed: 4)
        let block = Residual<Float>(named: [
            ("expand", Conv2D<Float>(8, 16, kernelSize: 1, bias: false, generator: &g)),
            ("bn0", BatchNorm<Float>(channels: 16)),
            ("depthwise", Conv2D<Float>(16, 16, kernelSize: 3, padding: 1, groups: 16, bias: false, generator: &g)),
            ("bn1", BatchNorm<Float>(channels: 16)),
            ("project", Conv2D<Float>(16, 8, kernelSize: 1, bias: false, generator: &g)),
            ("bn2", BatchNorm<Float>(channels: 8)),
        ], shortcut: nil)
        let backbone = Sequential<Float>(named: [
            ("stem", Conv2D<Float>(3, 8, kernelSize: 3, stride: 2, padding: 1, generator: &g)),
            ("bn", BatchNorm<Float>(channels: 8)),
            ("relu", ReLU<Float>()),
            ("block", block),
            ("down", Sequential<Float>(named: [("0", Conv2D<Float>(8, 8, kernelSize: 1, stride: 2, generator: &g))])),
            ("pool", GlobalAvgPool<Float>()),
        ])
        let model = Sequential<Float>(named: [("backbone", backbone), ("embedding", Linear<Float>(8, 4, generator: &g))])
        let result = TrainingBenchmark.run(model: model, input: TensorShape(channels: 3, height: 8, width: 8), batchSize: 2,
                                           iterations: 2, warmup: 1, profile: true)
        let profile = try #require(result.profile)
        let kinds = Dictionary(uniqueKeysWithValues: profile.kinds.map { ($0.kind, $0) })
        // Convolutions by shape and the kernel they ran (the 2×2 output of the strided 1×1 is
        // small against its weights, so it batches).
        let expected = ["Conv2D 3×3 s2 im2col": 1, "BatchNorm": 4, "ReLU": 1, "Conv2D pointwise": 2, "Conv2D depthwise 3×3": 1,
                        "Conv2D 1×1 s2 im2col batched": 1, "GlobalAvgPool": 1, "Linear": 1]
        #expect(Set(kinds.keys) == Set(expected.keys), "\(kinds.keys.sorted())")
        for (kind, count) in expected {
            #expect(kinds[kind]?.count == count, "\(kind)")
            #expect((kinds[kind]?.forward ?? 0) > 0 && (kinds[kind]?.backward ?? 0) > 0, "\(kind)")
        }
        #expect((kinds["Conv2D pointwise"]?.gemm ?? 0) > 0 && kinds["BatchNorm"]?.gemm == 0)
        // Leaves are counted once: their sum stays within the top-level layers' time.
        let leaves = profile.kinds.reduce(0) { $0 + $1.forward + $1.backward }
        let layers = profile.layers.reduce(0) { $0 + $1.forward + $1.backward }
        #expect(leaves > 0 && leaves <= layers)
        // The timer is detached afterwards.
        #expect(backbone.timer == nil && block.body.timer == nil)
    }
}
