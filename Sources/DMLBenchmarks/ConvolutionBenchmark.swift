import Foundation
import DMLNumerics
import DMLNetworks

/// A micro-benchmark of one convolution layer: forward + backward (input and weight gradients)
/// of the layer's own kernel (depthwise or pointwise) against im2col + GEMM per group for the
/// same layer, timed alternately A B A B in one process, in CPU seconds of the calling thread
/// (the machine is shared and noisy; run with one BLAS thread).
public enum ConvolutionBenchmark {
    /// One measured configuration.
    public struct Result: Sendable, CustomStringConvertible {
        /// The layer, e.g. `"Conv2D(96→96, k=3, s=2, p=(0, 1, 0, 1), g=96) on 96×56×56, batch 32"`.
        public let label: String
        /// Median CPU seconds per forward + backward with the specialized kernel.
        public let specializedSeconds: Double
        /// Median CPU seconds per forward + backward with im2col + GEMM per group.
        public let im2colSeconds: Double
        /// `im2colSeconds / specializedSeconds`.
        public var speedup: Double { im2colSeconds / specializedSeconds }
        /// The largest absolute difference between the two outputs (they must agree).
        public let maxDifference: Double

        public var description: String {
            let a = (specializedSeconds * 1e5).rounded() / 100, b = (im2colSeconds * 1e5).rounded() / 100
            return "\(label): own kernel \(a) ms, im2col+GEMM \(b) ms, ×\((speedup * 100).rounded() / 100)"
        }
    }

    /// Times `rounds` alternating pairs (after one warm-up pair) of forward + backward for a
    /// `Conv2D(channels → outputs)` with the given kernel, stride, padding and groups on a
    /// `batch × channels × size × size` input.
    public static func run(channels: Int, outputs: Int, kernel: Int, stride: Int, padding: Padding2D, groups: Int,
                           size: Int, batch: Int, rounds: Int = 5, seed: UInt64 = 1) -> Result {
        var generator = SeededGenerator(seed: seed)
        let specialized = Conv2D<Float>(channels, outputs, kernel: Size2D(kernel), stride: Size2D(stride), padding: padding,
                                        groups: groups, bias: false, generator: &generator)
        var again = SeededGenerator(seed: seed)
        let generic = Conv2D<Float>(channels, outputs, kernel: Size2D(kernel), stride: Size2D(stride), padding: padding,
                                    groups: groups, bias: false, generator: &again)
        generic.usesSpecializedKernels = false
        let (x, g) = randomInputAndGradient(specialized, batch: batch, channels: channels, size: size, generator: &generator)
        func step(_ layer: Conv2D<Float>) {
            _ = layer.forward(x, training: true)
            _ = layer.backward(g)
        }
        let a = specialized.forward(x, training: true).values, b = generic.forward(x, training: true).values
        let difference = zip(a.elements, b.elements).map { Double(abs($0 - $1)) }.max() ?? 0
        let times = BenchmarkClock.threadCPU.alternating(rounds: rounds, { step(specialized) }, { step(generic) })
        let label = "Conv2D(\(channels)→\(outputs), k=\(kernel), s=\(stride), p=\(padding), g=\(groups)) on \(x.shape), batch \(batch)"
        return Result(label: label, specializedSeconds: times.a, im2colSeconds: times.b, maxDifference: difference)
    }
}

extension ConvolutionBenchmark {
    /// One 3×3 stride-1 layer timed with im2col + GEMM (`ConvolutionAlgorithm.im2col`) and with
    /// Winograd F(2×2, 3×3) (`.winograd`).
    public struct WinogradComparison: Sendable, CustomStringConvertible {
        /// The layer, e.g. `"64→64 on 56×56, batch 32"`.
        public let label: String
        /// Median seconds of an evaluation-mode forward pass, im2col.
        public let im2colForward: Double
        /// Median seconds of an evaluation-mode forward pass, Winograd.
        public let winogradForward: Double
        /// Median seconds of a training forward + backward (input and weight gradients), im2col.
        public let im2colStep: Double
        /// Median seconds of a training forward + backward, Winograd.
        public let winogradStep: Double
        /// `max |y_winograd − y_im2col| / max |y_im2col|` of the forward outputs.
        public let relativeDifference: Double

        /// `im2colForward / winogradForward`.
        public var forwardSpeedup: Double { im2colForward / winogradForward }
        /// `im2colStep / winogradStep`.
        public var stepSpeedup: Double { im2colStep / winogradStep }

        public var description: String {
            func ms(_ s: Double) -> String { String(format: "%.2f", s * 1000) }
            return "| \(label) | \(ms(im2colForward)) | \(ms(winogradForward)) | \(String(format: "%.2f", forwardSpeedup))× "
                + "| \(ms(im2colStep)) | \(ms(winogradStep)) | \(String(format: "%.2f", stepSpeedup))× | \(String(format: "%.1e", relativeDifference)) |"
        }
    }

    /// Times a `Conv2D<Float>(channels → outputs, 3×3, stride 1, padding)` on a
    /// `batch × channels × size × size` input with im2col and with Winograd, alternating
    /// A B A B: `rounds` pairs of evaluation-mode forward passes and `rounds` pairs of training
    /// forward + backward passes after one warm-up pair each, median of each, on `clock`
    /// (the calling thread's CPU time by default; use the wall clock with `threads > 1`).
    public static func compareWinograd(channels: Int, outputs: Int, size: Int, padding: Int = 1, batch: Int, rounds: Int = 5,
                                       threads: Int = 1, blockTiles: Int? = nil, clock: BenchmarkClock = .threadCPU,
                                       seed: UInt64 = 1) -> WinogradComparison {
        var generator = SeededGenerator(seed: seed)
        let im2col = Conv2D<Float>(channels, outputs, kernel: 3, padding: Padding2D(padding), bias: false, generator: &generator)
        var again = SeededGenerator(seed: seed)
        let winograd = Conv2D<Float>(channels, outputs, kernel: 3, padding: Padding2D(padding), bias: false, generator: &again)
        im2col.algorithm = .im2col
        winograd.algorithm = .winograd
        winograd.winogradBlockTiles = blockTiles
        let pool = threads > 1 ? ThreadPool(threads: threads) : nil
        im2col.pool = pool
        winograd.pool = pool
        let (x, g) = randomInputAndGradient(im2col, batch: batch, channels: channels, size: size, generator: &generator)
        func forward(_ layer: Conv2D<Float>) {
            _ = layer.forward(x, training: false)
        }
        func step(_ layer: Conv2D<Float>) {
            _ = layer.forward(x, training: true)
            _ = layer.backward(g)
        }
        let a = im2col.forward(x, training: false).values, b = winograd.forward(x, training: false).values
        let scale = a.elements.map { abs(Double($0)) }.max() ?? 0
        let difference = Double(a.maxAbsDifference(b)) / max(scale, 1e-30)
        let forwardTimes = clock.alternating(rounds: rounds, { forward(im2col) }, { forward(winograd) })
        let stepTimes = clock.alternating(rounds: rounds, { step(im2col) }, { step(winograd) })
        return WinogradComparison(label: "\(channels)→\(outputs) on \(size)×\(size), batch \(batch)",
                                  im2colForward: forwardTimes.a, winogradForward: forwardTimes.b,
                                  im2colStep: stepTimes.a, winogradStep: stepTimes.b, relativeDifference: difference)
    }

    /// A standard-normal input batch of `channels` planes of `size × size` for `layer` and a
    /// standard-normal gradient of its output, drawn in that order from `generator`.
    static func randomInputAndGradient(_ layer: Conv2D<Float>, batch: Int, channels: Int, size: Int,
                                       generator: inout SeededGenerator) -> (Tensor<Float>, Tensor<Float>) {
        let shape = TensorShape(channels: channels, height: size, width: size)
        let x = Tensor(generator.normalMatrix(rows: batch, columns: shape.count, as: Float.self), shape: shape)
        let outputShape = try! layer.outputShape(for: shape)
        let g = Tensor(generator.normalMatrix(rows: batch, columns: outputShape.count, as: Float.self), shape: outputShape)
        return (x, g)
    }
}
