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
        let shape = TensorShape(channels: channels, height: size, width: size)
        let x = Tensor(generator.normalMatrix(rows: batch, columns: shape.count, as: Float.self), shape: shape)
        let outputShape = try! specialized.outputShape(for: shape)
        let g = Tensor(generator.normalMatrix(rows: batch, columns: outputShape.count, as: Float.self), shape: outputShape)
        func step(_ layer: Conv2D<Float>) -> Double {
            let start = BenchmarkClock.threadCPU.now()
            _ = layer.forward(x, training: true)
            _ = layer.backward(g)
            return BenchmarkClock.threadCPU.now() - start
        }
        let a = specialized.forward(x, training: true).values, b = generic.forward(x, training: true).values
        let difference = zip(a.elements, b.elements).map { Double(abs($0 - $1)) }.max() ?? 0
        _ = step(specialized)
        _ = step(generic)
        var specializedTimes: [Double] = [], genericTimes: [Double] = []
        for _ in 0..<rounds {
            specializedTimes.append(step(specialized))
            genericTimes.append(step(generic))
        }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        let label = "Conv2D(\(channels)→\(outputs), k=\(kernel), s=\(stride), p=\(padding), g=\(groups)) on \(shape), batch \(batch)"
        return Result(label: label, specializedSeconds: median(specializedTimes), im2colSeconds: median(genericTimes), maxDifference: difference)
    }
}
