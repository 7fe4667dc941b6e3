import DMLNumerics
import Foundation
import Testing
@testable import DMLData

@Suite("Background loader")
struct LoaderTests {
    static func dataset(_ dir: TemporaryDirectory, cache: Bool = false) throws -> ImageFileSplit {
        var items = [ImageFileSplit.Item]()
        for k in 0..<10 {
            items.append(.init(path: try dir.write(try DatasetFixtures.image(k, width: 14, height: 10), to: "img\(k).png"), label: k % 3))
        }
        let classes = (0..<3).map { DatasetClass(originalID: $0, name: "c\($0)") }
        return try ImageFileSplit(items: items, classes: classes, trainPipeline: DatasetLayoutTests.tiny.trainPipeline,
                                  testPipeline: DatasetLayoutTests.tiny.testPipeline, cacheImages: cache)
    }

    static let plan: [[Int]] = (0..<9).map { t in (0..<4).map { (t * 3 + $0 * 7) % 10 } }

    @Test func sameBatchesForAnyThreadCountAndPrefetch() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let split = try Self.dataset(dir)
        let reference = try Self.plan.enumerated().map { t, idx in try split.batch(idx, mode: .train, seed: 42, iteration: t) }
        for (workers, prefetch) in [(1, 1), (2, 4), (3, 2), (4, 8)] {
            let loader = BatchLoader(split: split, mode: .train, seed: 42, indices: BatchListIterator(Self.plan),
                                     workers: workers, prefetch: prefetch)
            var got = [Matrix<Float>]()
            while let batch = try loader.next() {
                #expect(batch.iteration == got.count)
                #expect(batch.indices == Self.plan[batch.iteration])
                #expect(batch.labels == split.labels(of: batch.indices))
                got.append(batch.samples)
            }
            #expect(got == reference)
            #expect(try loader.next() == nil)
        }
        // A different seed changes the augmentation; the cache does not change the numbers.
        #expect(try split.batch(Self.plan[0], mode: .train, seed: 43) != reference[0])
        let cached = try Self.dataset(dir, cache: true)
        #expect(try cached.batch(Self.plan[1], mode: .train, seed: 42, iteration: 1) == reference[1])
        #expect(try cached.batch(Self.plan[1], mode: .train, seed: 42, iteration: 1) == reference[1])
    }

    @Test func resumesAtAnIteration() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let split = try Self.dataset(dir)
        let loader = BatchLoader(split: split, mode: .train, seed: 5, indices: BatchListIterator(Array(Self.plan[3...])),
                                 workers: 2, prefetch: 2, firstIteration: 3)
        let first = try #require(try loader.next())
        #expect(first.iteration == 3)
        #expect(first.samples == (try split.batch(Self.plan[3], mode: .train, seed: 5, iteration: 3)))
    }

    @Test func errorsReachTheConsumerAndStopEnds() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let split = try Self.dataset(dir)
        try FileManager.default.removeItem(atPath: split.items[2].path)
        let loader = BatchLoader(split: split, mode: .test, seed: 0, indices: BatchListIterator([[0, 1], [2, 3], [4]]), workers: 2)
        #expect(try loader.next()?.indices == [0, 1])
        let e = #expect(throws: DataError.self) { try loader.next() }
        #expect(e?.file.hasSuffix("img2.png") == true)
        #expect(try loader.next()?.indices == [4])
        let started = Date()
        let endless = BatchLoader(split: split, mode: .test, seed: 0, indices: RepeatingIndices(), workers: 2, prefetch: 3)
        #expect(try endless.next()?.indices == [0, 1, 3])
        endless.stop()
        // After stop, next() hands out at most the batches already made, then nil, without blocking.
        var delivered = 0
        while let batch = try endless.next() {
            #expect(batch.indices == [0, 1, 3])
            delivered += 1
            if delivered > 3 { break }
        }
        #expect(delivered <= 3)
        // The time spent waiting for batches is part of the time this test took.
        let elapsed = Date().timeIntervalSince(started)
        #expect(endless.waitingSeconds.isFinite && endless.waitingSeconds >= 0 && endless.waitingSeconds <= elapsed,
                "waited \(endless.waitingSeconds) s of \(elapsed) s")
    }
}

/// An endless source of the same batch.
struct RepeatingIndices: IteratorProtocol, Sendable {
    mutating func next() -> [Int]? { [0, 1, 3] }
}
