import ArgumentParser
import DMLBenchmarks
import Foundation
import SwiftMetricLearning

/// `dml bench data`: images per second decoded and augmented, and the share of a training step the
/// trainer waits on the loader.
public struct BenchDataCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Images/s decoded + augmented (CUB-like JPEG → 227², Omniglot PNG → 28²) and the trainer's wait fraction."
    )

    @Option(help: "Loader threads.") var workers = 2
    @Option(help: "Images per batch.") var batchSize = 128
    @Option(help: "Synthetic 500×375 JPEGs to generate.") var jpegs = 200
    @Option(help: "Batches per throughput measurement.") var batches = 6
    @Option(help: "Omniglot folder or archive (default: the project's omniglot-full.tar.zst).") var omniglot: String?
    @Option(help: "Simulated training-step durations in milliseconds, comma-separated.") var stepMs = "20,50,100,200"
    @Option(help: "Training steps per wait measurement.") var steps = 20

    public init() {}

    /// The 1-minute load average, to judge how busy the machine was.
    private func loadAverage() -> String {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) > 0 ? String(format: "%.1f", loads[0]) : "unknown"
    }

    public func run() throws {
        let stepList = stepMs.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let temporary = NSTemporaryDirectory() + "dml-bench-data-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        print("Writing \(jpegs) synthetic 500×375 JPEGs…")
        let paths = try DataBenchmark.writeSyntheticJPEGs(count: jpegs, into: temporary)
        let items = paths.enumerated().map { ImageFileSplit.Item(path: $1, label: $0 / 10) }
        let classes = (0..<((jpegs + 9) / 10)).map { DatasetClass(originalID: $0, name: "class\($0)") }
        let cub = try ImageFileSplit(items: items, classes: classes, trainPipeline: .papersTrain, testPipeline: .papersTest)

        let spec = DatasetSpec(kind: .omniglot, root: omniglot)
        print("Loading Omniglot from \(try spec.resolvedRoot()) (extracted once into the cache)…")
        let omniglotData = try spec.load()
        let omni = omniglotData.train
        print("Omniglot: train \(omni.count) images of \(omni.classCount) characters, test \(omniglotData.test.count) of \(omniglotData.test.classCount)")
        let omniCached = try (omni as! ImageFileSplit).cachingImages(true)
        let omniUncached = try (omni as! ImageFileSplit).cachingImages(false)

        func row(_ name: String, _ threads: Int, _ t: DataBenchmark.Throughput) {
            print("| \(name) | \(threads) | \(Int(t.perSecond)) | \(Int(t.perCPUSecond)) |")
        }
        print("\n| data → sample | threads | images/s (wall) | images per CPU-second |")
        print("| --- | ---: | ---: | ---: |")
        for threads in Set([1, workers]).sorted() {
            let jpeg = try DataBenchmark.throughput(of: cub, mode: .train, workers: threads, batchSize: batchSize, batches: batches)
            row("JPEG 500×375 → 3×227×227 (train: resize 256, random crop, flip)", threads, jpeg)
            let png = try DataBenchmark.throughput(of: omniUncached, mode: .train, workers: threads, batchSize: batchSize, batches: batches * 4)
            row("Omniglot PNG 105×105 → 1×28×28 (decoded every time)", threads, png)
        }
        // Fill the cache once, then measure a cached epoch.
        let epoch = (0..<((omniCached.count + 1023) / 1024)).map { Array(($0 * 1024)..<min(($0 + 1) * 1024, omniCached.count)) }
        let firstEpoch = try DataBenchmark.throughput(of: omniCached, mode: .train, workers: workers, plan: epoch)
        row("Omniglot → 1×28×28, first epoch filling the cache", workers, firstEpoch)
        let cached = try DataBenchmark.throughput(of: omniCached, mode: .train, workers: workers, batchSize: batchSize, batches: batches * 20)
        row("Omniglot → 1×28×28 from the in-memory cache", workers, cached)
        print("\n(load average at the end: \(loadAverage()))")

        print("\n| data | step (ms) | batch | trainer waiting (fraction of wall time) |")
        print("| --- | ---: | ---: | ---: |")
        for ms in stepList {
            let small = try DataBenchmark.waitingFraction(of: omniUncached, stepSeconds: ms / 1000, workers: workers, prefetch: 4,
                                                          batchSize: batchSize, steps: steps)
            print("| Omniglot 28×28, no cache | \(Int(ms)) | \(batchSize) | \(String(format: "%.3f", small)) |")
            let cachedWait = try DataBenchmark.waitingFraction(of: omniCached, stepSeconds: ms / 1000, workers: workers, prefetch: 4,
                                                               batchSize: batchSize, steps: steps)
            print("| Omniglot 28×28, cached | \(Int(ms)) | \(batchSize) | \(String(format: "%.3f", cachedWait)) |")
            let big = try DataBenchmark.waitingFraction(of: cub, stepSeconds: ms / 1000, workers: workers, prefetch: 4,
                                                        batchSize: batchSize, steps: max(4, steps / 4))
            print("| JPEG 500×375 → 227×227 | \(Int(ms)) | \(batchSize) | \(String(format: "%.3f", big)) |")
        }
    }
}
