import ArgumentParser
import Foundation
import DMLBenchmarks
import DMLNetworks
import DMLNumerics

/// `dml bench conv`: im2col + GEMM against Winograd F(2×2, 3×3), per 3×3 stride-1 layer shape
/// (`ConvolutionBenchmark.compareWinograd`), as a Markdown table.
public struct BenchConvCommand: ParsableCommand {
    /// The command's name, abstract and help text.
    public static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Time 3×3 stride-1 convolutions with im2col + GEMM and with Winograd F(2×2, 3×3) (Float, forward and forward + backward).",
        discussion: """
        The default layers are ResNet-18's 3×3 stride-1 convolutions at 224 px (64 channels on 56×56, \
        128 on 28×28, 256 on 14×14, 512 on 7×7). Run with OPENBLAS_CORETYPE=SkylakeX from a release build.
        """
    )

    @Option(parsing: .upToNextOption, help: "Layers as C:O:SIZE (input channels, output channels, plane side).")
    var layers = ["64:64:56", "128:128:28", "256:256:14", "512:512:7"]

    @Option(help: "Batch size.") var batchSize = 32
    @Option(help: "Timed pairs per measurement (the median is reported).") var rounds = 3
    @Option(help: "Compute threads (a pool of this many; BLAS single-threaded inside it).") var threads = 1
    @Option(name: .customLong("block-tiles"), parsing: .upToNextOption, help: "Winograd tiles per block (one table row per value; default: the layer's automatic choice).")
    var blockTiles: [Int] = []
    @Flag(help: "Time with the wall clock instead of the calling thread's CPU clock (the default with --threads > 1).")
    var wallClock = false

    /// A command with every option at its default (ArgumentParser fills the options in).
    public init() {}

    /// The parsed `--layers`.
    func parsedLayers() throws -> [(channels: Int, outputs: Int, size: Int)] {
        try layers.map { text in
            let parts = text.split(separator: ":").map { Int($0) }
            guard parts.count == 3, let c = parts[0], let o = parts[1], let s = parts[2], c > 0, o > 0, s > 0 else {
                throw ValidationError("--layers: expected C:O:SIZE with positive integers, got '\(text)'")
            }
            return (c, o, s)
        }
    }

    /// Checks the options after parsing (ArgumentParser calls it before `run`).
    public func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard blockTiles.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--block-tiles must be positive") }
        _ = try parsedLayers()
    }

    public func run() throws {
        let clock: BenchmarkClock = wallClock || threads > 1 ? .wall : .threadCPU
        print("\(threads) thread(s), \(clock == .wall ? "wall-clock" : "calling thread's CPU") ms, median of \(rounds)")
        print("| layer | tiles/block | im2col forward | Winograd forward | speed-up | im2col fwd+bwd | Winograd fwd+bwd | speed-up | rel. difference |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for layer in try parsedLayers() {
            let automatic = Conv2D<Float>.automaticWinogradBlockTiles(channels: layer.channels, outputs: layer.outputs)
            for tiles in blockTiles.isEmpty ? [automatic] : blockTiles {
                // One BLAS thread: the pool (if any) is the only parallelism, as in dml train.
                let result = BLASThreads.with(1) { ConvolutionBenchmark.compareWinograd(channels: layer.channels, outputs: layer.outputs, size: layer.size,
                                                                  batch: batchSize, rounds: rounds, threads: threads, blockTiles: tiles,
                                                                  clock: clock) }
                var row = result.description
                row = row.replacingOccurrences(of: "| \(result.label) |", with: "| \(result.label) | \(tiles) |")
                print(row)
            }
        }
    }
}
