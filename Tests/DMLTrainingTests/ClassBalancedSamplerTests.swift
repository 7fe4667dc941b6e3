import Foundation
import Testing
import DMLTestSupport
@testable import DMLTraining

@Suite struct ClassBalancedSamplerTests {
    /// 10 classes of uneven sizes, class `c` with `c + 1` samples (1 to 10), interleaved:
    /// `[0, 1, 2, …, 9, 1, 2, …, 9, 2, …]`.
    let labels: [Int] = (0..<10).flatMap { round in (round..<10).map { $0 } }

    @Test func classesWithFewerThanKSamplesAreNeverDrawn() throws {
        #expect(labels.count == 55 && (0..<10).allSatisfy { c in labels.filter { $0 == c }.count == c + 1 })
        var sampler = try ClassBalancedSampler(labels: labels, classesPerBatch: 4, samplesPerClass: 3, seed: 1)
        // Classes 0 and 1 (1 and 2 samples) cannot give 3 samples: 8 classes remain.
        #expect(sampler.eligibleClassCount == 8)
        var seen = Set<Int>()
        for _ in 0..<100 { for i in sampler.nextBatch() { seen.insert(labels[i]) } }
        #expect(seen == Set(2..<10))
        // With K = 9 only classes 8 and 9 qualify, too few for C = 3.
        #expect(throws: TrainingError.notEnoughClasses(needed: 3, samplesPerClass: 9, available: 2)) {
            try ClassBalancedSampler(labels: labels, classesPerBatch: 3, samplesPerClass: 9, seed: 1)
        }
    }

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
        // A state encoded mid-stream (as a checkpoint stores it) and decoded continues exactly
        // like the original, and differs from a fresh sampler's continuation.
        var decoded = try JSONDecoder().decode(ClassBalancedSampler.self, from: JSONEncoder().encode(a))
        #expect(decoded == a && decoded.isWellFormed)
        var fresh = try ClassBalancedSampler(labels: labels, classesPerBatch: 3, samplesPerClass: 2, seed: 9)
        let next = (0..<5).map { _ in a.nextBatch() }
        #expect(next == (0..<5).map { _ in decoded.nextBatch() })
        #expect(next != (0..<5).map { _ in fresh.nextBatch() })
        #expect(decoded.drawsFromSameItems(as: fresh))
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
