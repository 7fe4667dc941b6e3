import Testing
import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// The batched kernels of `Conv2D` (one GEMM over a chunk of the batch on a channel-major copy
/// or im2col of the chunk) against the per-sample ones (for 1×1: one GEMM per sample on the
/// input in place). Both against each other, against finite differences, on a
/// pool, frozen and without the input gradient.
@Suite struct PointwiseConvolutionTests {
    /// `C → O` 1×1 convolutions on `H × W` planes, with and without bias.
    static let shapes: [(channels: Int, outputs: Int, height: Int, width: Int, bias: Bool)] = [
        (4, 5, 3, 4, true), (6, 2, 5, 5, false), (3, 8, 1, 1, true), (7, 3, 2, 9, true),
    ]

    static func layer(_ s: (channels: Int, outputs: Int, height: Int, width: Int, bias: Bool), batched: Bool,
                      seed: UInt64 = 30) -> Conv2D<Double> {
        var rng = SeededGenerator(seed: seed)
        let layer = Conv2D<Double>(s.channels, s.outputs, kernelSize: 1, bias: s.bias, generator: &rng)
        if s.bias { layer.bias = rng.normalMatrix(rows: 1, columns: s.outputs) }
        layer.algorithm = batched ? .batched : .perSample
        return layer
    }

    /// Output, input gradient, weight gradient and bias gradient of one forward and backward pass.
    static func run(_ s: (channels: Int, outputs: Int, height: Int, width: Int, bias: Bool), batched: Bool, batch: Int,
                    threads: Int?, inputGradient: Bool = true, frozen: Bool = false) -> [Matrix<Double>] {
        let layer = Self.layer(s, batched: batched)
        layer.pool = threads.map { ThreadPool(threads: $0) }
        layer.computesInputGradient = inputGradient
        layer.isFrozen = frozen
        let x = randomTensor(batch: batch, shape: TensorShape(channels: s.channels, height: s.height, width: s.width), seed: 32)
        let y = layer.forward(x, training: true)
        let g = randomTensor(batch: batch, shape: y.shape, seed: 33)
        layer.zeroGradients()
        let dx = layer.backward(g)
        return [y.values, dx.values, layer.weightGradient] + (layer.biasGradient.map { [$0] } ?? [])
    }

    @Test func bothKernelsComputeTheSameNumbers() {
        for s in Self.shapes {
            for threads in [nil, 1, 2, 3] as [Int?] {
                let batched = Self.run(s, batched: true, batch: 5, threads: threads)
                let perSample = Self.run(s, batched: false, batch: 5, threads: threads)
                #expect(batched.count == perSample.count)
                for (a, b) in zip(batched, perSample) {
                    #expect(a.maxAbsDifference(b) < 1e-12, "\(s), \(String(describing: threads)) threads")
                }
                // A fixed thread count repeats exactly.
                #expect(Self.run(s, batched: true, batch: 5, threads: threads) == batched)
            }
            // One pool thread is the serial computation, bit for bit.
            #expect(Self.run(s, batched: true, batch: 5, threads: 1) == Self.run(s, batched: true, batch: 5, threads: nil))
        }
    }

    @Test func gradientsMatchFiniteDifferences() {
        for s in Self.shapes {
            for batched in [true, false] {
                let layer = Self.layer(s, batched: batched)
                let check = LayerGradientCheck(layer, input: randomTensor(batch: 3, shape: TensorShape(channels: s.channels, height: s.height, width: s.width), seed: 34))
                #expect(check.parameterErrors.keys.sorted() == (s.bias ? ["bias", "weight"] : ["weight"]))
                #expect(check.worst < LayerGradientTests.tolerance, "\(s), batched \(batched)")
            }
        }
    }

    @Test("With 2 threads the batched weight gradient is exactly the sum of the sample chunks' serial gradients, in chunk order")
    func everyChunkContributes() {
        let s = Self.shapes[0]
        var rng = SeededGenerator(seed: 40)
        let x = randomTensor(batch: 5, shape: TensorShape(channels: s.channels, height: s.height, width: s.width), seed: 41)
        let upstream: Matrix<Double> = rng.normalMatrix(rows: 5, columns: s.outputs * s.height * s.width)
        func gradient(threads: Int?, samples: Range<Int>) -> Matrix<Double> {
            let layer = Self.layer(s, batched: true)
            layer.pool = threads.map { ThreadPool(threads: $0) }
            _ = layer.forward(Tensor(x.values.gatheringRows(Array(samples)), shape: x.shape), training: true)
            _ = layer.backward(Tensor(upstream.gatheringRows(Array(samples)), shape: TensorShape(channels: s.outputs, height: s.height, width: s.width)))
            return layer.weightGradient
        }
        let parallel = gradient(threads: 2, samples: 0..<5)
        // The chunks' serial gradients added in chunk order (`BalancedSplit`: 5 chunks of one sample).
        let split = BalancedSplit(count: 5, threads: 2)
        var expected = gradient(threads: nil, samples: split.range(0))
        for k in 1..<split.chunks { expected.add(gradient(threads: nil, samples: split.range(k)), scaledBy: 1) }
        for i in 0..<parallel.rows {
            for j in 0..<parallel.columns { #expect(parallel[i, j] == expected[i, j]) }
        }
    }

    @Test func frozenOrWithoutTheInputGradient() {
        for s in Self.shapes {
            for threads in [nil, 2] as [Int?] {
                let full = Self.run(s, batched: true, batch: 4, threads: threads)
                // Frozen: the same input gradient, no parameter gradient.
                let frozen = Self.run(s, batched: true, batch: 4, threads: threads, frozen: true)
                #expect(frozen[1] == full[1])
                for gradient in frozen.dropFirst(2) { #expect(gradient.elements.allSatisfy { $0 == 0 }) }
                #expect(full[2].elements.contains { $0 != 0 })
                // Without ∂L/∂x: zeros for it, the same parameter gradients.
                let lean = Self.run(s, batched: true, batch: 4, threads: threads, inputGradient: false)
                #expect(lean[1].elements.allSatisfy { $0 == 0 })
                for k in 2..<full.count { #expect(lean[k] == full[k], "\(s)") }
            }
        }
    }

    @Test func automaticBatchesSmallPlanesAndAgreesWithIm2col() {
        // 3 → 4 channels on 6×6: P·(C + O) = 252 > C·O = 12, per sample; 16 → 16 on 2×2:
        // 4·32 = 128 ≤ 256, batched; 3×3 on 16 channels, 3×3 output: 9·(144 + 16) ≤ 144·16, batched.
        #expect(!Conv2D<Double>.batchingPays(patchLength: 3, outputs: 4, outputPixels: 36))
        #expect(Conv2D<Double>.batchingPays(patchLength: 16, outputs: 16, outputPixels: 4))
        #expect(Conv2D<Double>.batchingPays(patchLength: 144, outputs: 16, outputPixels: 9))
        for (c, o, side, k) in [(3, 4, 6, 1), (16, 16, 2, 1), (16, 16, 5, 3), (4, 6, 7, 3)] {
            var rng = SeededGenerator(seed: 50)
            let x = randomTensor(batch: 3, shape: TensorShape(channels: c, height: side, width: side), seed: 51)
            let reference = Conv2D<Double>(c, o, kernelSize: k, stride: k == 3 ? 2 : 1, padding: k == 3 ? 1 : 0, generator: &rng)
            reference.bias = rng.normalMatrix(rows: 1, columns: o)
            reference.usesSpecializedKernels = false
            reference.algorithm = .perSample
            let upstream = randomTensor(batch: 3, shape: try! reference.outputShape(for: x.shape), seed: 52)
            let y = reference.forward(x, training: true)
            let dx = reference.backward(upstream)
            for algorithm in ConvolutionAlgorithm.allCases {
                for threads in [nil, 2] as [Int?] {
                    var again = SeededGenerator(seed: 50)
                    let layer = Conv2D<Double>(c, o, kernelSize: k, stride: k == 3 ? 2 : 1, padding: k == 3 ? 1 : 0, generator: &again)
                    layer.bias = reference.bias
                    layer.algorithm = algorithm
                    layer.pool = threads.map { ThreadPool(threads: $0) }
                    #expect(layer.forward(x, training: true).values.maxAbsDifference(y.values) < 1e-12, "\(c)→\(o) k\(k) \(algorithm)")
                    #expect(layer.backward(upstream).values.maxAbsDifference(dx.values) < 1e-12, "\(c)→\(o) k\(k) \(algorithm)")
                    #expect(layer.weightGradient.maxAbsDifference(reference.weightGradient) < 1e-12, "\(c)→\(o) k\(k) \(algorithm)")
                    #expect(layer.biasGradient!.maxAbsDifference(reference.biasGradient!) < 1e-12)
                }
            }
        }
    }
}
