import Testing
import DMLTestSupport
@testable import DMLTraining

@Suite struct ClassBalancedSamplerTests {
    /// 10 classes of uneven sizes (3 to 12 samples), interleaved.
    let labels: [Int] = (0..<75).map { $0 % 10 }.filter { _ in true } + [0, 0, 1, 1, 1]

    @Test func batchesAreClassMajorWithDistinctClassesAndSamples() throws {
        var sampler = try ClassBalancedSampler(labels: labels, classesPerBatch: 4, samplesPerClass: 3, seed: 1)
        for _ in 0..<50 {
            let batch = sampler.nextBatch()
            #expect(batch.count == 12)
            #expect(Set(batch).count == 12, "no sample twice in a batch")
            let classes = stride(from: 0, to: 12, by: 3).map { labels[batch[$0]] }
            #expect(Set(classes).count == 4, "4 distinct classes")
            for (k, c) in classes.enumerated() {
                #expect(batch[(3 * k)..<(3 * k + 3)].allSatisfy { labels[$0] == c }, "class-major layout")
            }
        }
    }

    @Test func sameSeedSameBatchesAndStateRoundTrips() throws {
        var a = try ClassBalancedSampler(labels: labels, classesPerBatch: 3, samplesPerClass: 2, seed: 9)
        var b = try ClassBalancedSampler(labels: labels, classesPerBatch: 3, samplesPerClass: 2, seed: 9)
        var c = try ClassBalancedSampler(labels: labels, classesPerBatch: 3, samplesPerClass: 2, seed: 10)
        let first = (0..<5).map { _ in a.nextBatch() }
        #expect(first == (0..<5).map { _ in b.nextBatch() })
        #expect(first != (0..<5).map { _ in c.nextBatch() })
        // A snapshot taken mid-stream continues exactly like the original.
        var snapshot = a
        #expect((0..<5).map { _ in a.nextBatch() } == (0..<5).map { _ in snapshot.nextBatch() })
    }

    @Test func everySampleIsVisitedEvenly() throws {
        let even = BatchFactory.labels(classes: 6, perClass: 4)
        var sampler = try ClassBalancedSampler(labels: even, classesPerBatch: 3, samplesPerClass: 2, seed: 5)
        var counts = [Int](repeating: 0, count: even.count)
        for _ in 0..<400 { for i in sampler.nextBatch() { counts[i] += 1 } }
        // 400 batches × 6 samples / 24 samples = 100 visits each on average.
        #expect(counts.min()! >= 90 && counts.max()! <= 110)
    }

    @Test func tooFewClassesIsAClearError() {
        #expect(throws: TrainingError.notEnoughClasses(needed: 4, samplesPerClass: 10, available: 2)) {
            _ = try ClassBalancedSampler(labels: [0, 0, 1] + Array(repeating: 2, count: 10) + Array(repeating: 3, count: 12),
                                         classesPerBatch: 4, samplesPerClass: 10, seed: 0)
        }
    }
}
