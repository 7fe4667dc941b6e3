import DMLNumerics
import DMLData
import Foundation

/// Throughput of decoding + augmentation, and how long a trainer waits on the loader.
public enum DataBenchmark {
    /// Items delivered per wall-clock second, and per second of CPU time used by the whole
    /// process (user + system, all threads): the second figure does not depend on how busy the
    /// machine is, the first does.
    public struct Throughput: Sendable {
        /// Items per wall-clock second.
        public let perSecond: Double
        /// Items per CPU second.
        public let perCPUSecond: Double
    }

    /// Writes `count` synthetic `width × height` RGB JPEGs (quality 90; smooth colour fields with
    /// texture, like a photo) into `folder`, one class sub-folder per 10 images; returns their paths.
    public static func writeSyntheticJPEGs(count: Int, width: Int = 500, height: Int = 375, into folder: String) throws -> [String] {
        var generator = SeededGenerator(seed: 2011)
        var paths = [String]()
        for k in 0..<count {
            let fx = 0.01 + 0.05 * generator.nextUniform(), fy = 0.01 + 0.05 * generator.nextUniform()
            var noise = [UInt8](repeating: 0, count: width * height)
            for i in noise.indices { noise[i] = UInt8(truncatingIfNeeded: generator.next() & 31) }
            let columnWave = (0..<(3 * width)).map { sin(Double($0 / 3) * fx + Double($0 % 3)) }
            let rowWave = (0..<(3 * height)).map { cos(Double($0 / 3) * fy - Double($0 % 3)) }
            let image = Image(width: width, height: height, channels: 3) { x, y, c in
                UInt8(clamping: Int(110 + 90 * columnWave[3 * x + c] * rowWave[3 * y + c]) + Int(noise[y * width + x]))
            }
            let dir = folder + "/class\(k / 10)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + "/\(k).jpg"
            try JPEGCodec.encode(image, quality: 90).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        return paths
    }

    /// Items per second the loader delivers with `workers` threads and no trainer: `batches`
    /// batches of `batchSize` random items of `split`, augmented for `mode`.
    public static func throughput(of split: any DatasetSplit, mode: AugmentationMode, workers: Int, batchSize: Int,
                                  batches: Int, seed: UInt64 = 1) throws -> Throughput {
        try throughput(of: split, mode: mode, workers: workers,
                       plan: randomPlan(count: split.count, batchSize: batchSize, batches: batches, seed: seed), seed: seed)
    }

    /// Items per second the loader delivers with `workers` threads and no trainer, over the batches
    /// of `plan`.
    public static func throughput(of split: any DatasetSplit, mode: AugmentationMode, workers: Int, plan: [[Int]],
                                  seed: UInt64 = 1) throws -> Throughput {
        let loader = BatchLoader(split: split, mode: mode, seed: seed, indices: BatchListIterator(plan),
                                 workers: workers, prefetch: max(2, 2 * workers))
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = BenchmarkClock.processCPU.now()
        var items = 0
        while let batch = try loader.next() { items += batch.indices.count }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Throughput(perSecond: Double(items) / wall, perCPUSecond: Double(items) / (BenchmarkClock.processCPU.now() - cpuStart))
    }

    /// The fraction of wall time a simulated trainer spends waiting for batches: each step busy-
    /// spins the calling thread for `stepSeconds` (as a CPU-bound training step would), after
    /// `warmup` steps that are not counted.
    public static func waitingFraction(of split: any DatasetSplit, stepSeconds: Double, workers: Int, prefetch: Int,
                                       batchSize: Int, steps: Int, warmup: Int = 2, seed: UInt64 = 1) throws -> Double {
        let plan = randomPlan(count: split.count, batchSize: batchSize, batches: steps + warmup, seed: seed)
        let loader = BatchLoader(split: split, mode: .train, seed: seed, indices: BatchListIterator(plan),
                                 workers: workers, prefetch: prefetch)
        var start: UInt64 = 0
        var waitedBefore = 0.0
        var step = 0
        var sink: UInt64 = 0
        while let batch = try loader.next() {
            if step == warmup {
                start = DispatchTime.now().uptimeNanoseconds
                waitedBefore = loader.waitingSeconds
            }
            let end = DispatchTime.now().uptimeNanoseconds + UInt64(stepSeconds * 1e9)
            while DispatchTime.now().uptimeNanoseconds < end { sink &+= UInt64(batch.indices.count) }
            step += 1
        }
        let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        precondition(sink > 0 || stepSeconds == 0)
        return total > 0 ? (loader.waitingSeconds - waitedBefore) / total : 0
    }

    /// `batches` lists of `batchSize` items drawn uniformly (with replacement across batches).
    static func randomPlan(count: Int, batchSize: Int, batches: Int, seed: UInt64) -> [[Int]] {
        var g = SeededGenerator(seed: seed, stream: 99)
        return (0..<batches).map { _ in (0..<batchSize).map { _ in g.nextInt(below: count) } }
    }
}
