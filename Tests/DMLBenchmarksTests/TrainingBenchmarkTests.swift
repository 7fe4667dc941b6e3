import Testing
import DMLNetworks
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
}
