import Testing
import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// Counts the GEMM batches a layer hands to its observer (one call per Winograd block, one per
/// sample and group for im2col per sample), to tell which kernel ran.
private final class ProductCounter: GEMMObserver {
    var calls = 0
    func observe(_ product: () -> Void) {
        calls += 1
        product()
    }
}

/// Winograd F(2×2, 3×3) (`ConvolutionAlgorithm.winograd`) against im2col + GEMM per sample, the
/// independent oracle: forward, input, weight and bias gradients, in Double (to 1e-12 relative)
/// and in Float; central finite differences through the Winograd path; blocks of tile rows and
/// of several samples; pools of 1, 2, 3 and 5 threads (bit-identical run after run); the
/// evaluation-mode cache of the transformed weights.
@Suite struct WinogradConvolutionTests {
    struct Shape: CustomStringConvertible {
        let channels: Int, outputs: Int, height: Int, width: Int
        let padding: Padding2D
        let bias: Bool
        var description: String { "\(channels)→\(outputs) on \(height)×\(width), padding \(padding), bias \(bias)" }
    }

    /// Odd and even planes, padding 0, 1, 2 and asymmetric, channel counts that are multiples
    /// of nothing, a 1×1 and a 1-row output, rows wide enough for the vector transforms.
    static let shapes: [Shape] = [
        Shape(channels: 3, outputs: 5, height: 6, width: 7, padding: 1, bias: true),
        Shape(channels: 5, outputs: 4, height: 7, width: 7, padding: 0, bias: false),
        Shape(channels: 7, outputs: 6, height: 8, width: 5, padding: 1, bias: true),
        Shape(channels: 4, outputs: 3, height: 5, width: 9, padding: Padding2D(top: 0, bottom: 1, left: 1, right: 0), bias: true),
        Shape(channels: 2, outputs: 3, height: 3, width: 3, padding: 0, bias: true),
        Shape(channels: 6, outputs: 7, height: 9, width: 4, padding: 2, bias: false),
        Shape(channels: 3, outputs: 2, height: 3, width: 10, padding: Padding2D(height: 0, width: 1), bias: true),
        // Wide rows: the transforms' four-tile vector path, then scalar tiles (an odd output
        // width, 21, ends in a one-column tile; 16 in whole groups of four; an odd height in a
        // one-row tile).
        Shape(channels: 3, outputs: 4, height: 5, width: 21, padding: 1, bias: true),
        Shape(channels: 2, outputs: 3, height: 6, width: 18, padding: 0, bias: false),
    ]

    static func layer<T: NetworkScalar>(_ s: Shape, algorithm: ConvolutionAlgorithm, as _: T.Type = Double.self,
                                        seed: UInt64 = 60) -> Conv2D<T> {
        var rng = SeededGenerator(seed: seed)
        let layer = Conv2D<T>(s.channels, s.outputs, kernel: 3, padding: s.padding, bias: s.bias, generator: &rng)
        if s.bias { layer.bias = rng.normalMatrix(rows: 1, columns: s.outputs) }
        layer.algorithm = algorithm
        return layer
    }

    /// Output, input gradient, weight gradient (and bias gradient) of one pass, and the observed
    /// product batches of the forward pass.
    static func run<T: NetworkScalar>(_ s: Shape, algorithm: ConvolutionAlgorithm, as type: T.Type = Double.self, batch: Int = 5,
                                      threads: Int? = nil, blockTiles: Int = 512, inputGradient: Bool = true,
                                      frozen: Bool = false) -> (values: [Matrix<T>], forwardProducts: Int) {
        let layer = Self.layer(s, algorithm: algorithm, as: type)
        layer.pool = threads.map { ThreadPool(threads: $0) }
        layer.winogradBlockTiles = blockTiles
        layer.computesInputGradient = inputGradient
        layer.isFrozen = frozen
        let counter = ProductCounter()
        layer.gemmObserver = counter
        var rng = SeededGenerator(seed: 61)
        let shape = TensorShape(channels: s.channels, height: s.height, width: s.width)
        let x = Tensor(rng.normalMatrix(rows: batch, columns: shape.count, as: T.self), shape: shape)
        let y = layer.forward(x, training: true)
        let products = counter.calls
        let g = Tensor(rng.normalMatrix(rows: batch, columns: y.shape.count, as: T.self), shape: y.shape)
        layer.zeroGradients()
        let dx = layer.backward(g)
        return ([y.values, dx.values, layer.weightGradient] + (layer.biasGradient.map { [$0] } ?? []), products)
    }

    /// `max |a − b| / max |b|`.
    static func relative<T: NetworkScalar>(_ a: Matrix<T>, _ b: Matrix<T>) -> Double {
        let scale = b.elements.map { abs(Double($0)) }.max() ?? 0
        return Double(a.maxAbsDifference(b)) / max(scale, 1e-300)
    }

    @Test("Double: forward and every gradient equal im2col to 1e-12 (relative), at every block size and thread count")
    func matchesIm2colInDouble() {
        for s in Self.shapes {
            let reference = Self.run(s, algorithm: .perSample).values
            for threads in [nil, 2, 3] as [Int?] {
                for blockTiles in [1, 3, 512] {
                    let (values, products) = Self.run(s, algorithm: .winograd, threads: threads, blockTiles: blockTiles)
                    #expect(values.count == reference.count)
                    for (k, (a, b)) in zip(values, reference).enumerated() {
                        #expect(Self.relative(a, b) < 1e-12, "\(s), tensor \(k), \(String(describing: threads)) threads, \(blockTiles) tiles")
                    }
                    // The Winograd kernel ran: with one thread, one observed product batch per block
                    // (im2col per sample would show one per sample).
                    if threads == nil {
                        let tilesHigh = (s.height + s.padding.top + s.padding.bottom - 1) / 2
                        let tilesWide = (s.width + s.padding.left + s.padding.right - 1) / 2
                        let perSample = tilesHigh * tilesWide
                        let blocks: Int
                        if perSample >= blockTiles {
                            let rows = max(1, min(tilesHigh, blockTiles / tilesWide))
                            blocks = 5 * ((tilesHigh + rows - 1) / rows)
                        } else {
                            let samples = blockTiles / perSample
                            blocks = (5 + samples - 1) / samples
                        }
                        #expect(products == blocks, "\(s), \(blockTiles) tiles")
                    }
                }
            }
        }
    }

    @Test("The automatic block size: the largest power of two of tiles whose V and M fit 1 MiB, within 128…512")
    func automaticBlockTiles() {
        // 16·(C + O)·T scalars: Float 32 → 64 at T = 256 is 1.5 MiB (too many), at 128 768 KiB.
        #expect(Conv2D<Float>.automaticWinogradBlockTiles(channels: 32, outputs: 64) == 128)
        // 16·32·4 bytes a tile: 512 tiles take exactly 1 MiB.
        #expect(Conv2D<Float>.automaticWinogradBlockTiles(channels: 16, outputs: 16) == 512)
        #expect(Conv2D<Float>.automaticWinogradBlockTiles(channels: 24, outputs: 24) == 256)
        #expect(Conv2D<Double>.automaticWinogradBlockTiles(channels: 16, outputs: 16) == 256)
        // Wide layers keep the floor of 128 (thinner GEMMs run slower than the cache saves).
        #expect(Conv2D<Float>.automaticWinogradBlockTiles(channels: 512, outputs: 512) == 128)
        #expect(Conv2D<Float>.automaticWinogradBlockTiles(channels: 1, outputs: 1) == 512)
    }

    @Test("Float: forward, input and weight gradients within 1e-5 of im2col, relative to each tensor's largest value")
    func matchesIm2colInFloat() {
        for s in Self.shapes {
            let reference = Self.run(s, algorithm: .perSample, as: Float.self).values
            let values = Self.run(s, algorithm: .winograd, as: Float.self, threads: 2, blockTiles: 4).values
            for (k, (a, b)) in zip(values, reference).enumerated() {
                #expect(Self.relative(a, b) < 1e-5, "\(s), tensor \(k): \(Self.relative(a, b))")
            }
        }
    }

    /// Float on ResNet-sized layers (a few samples): Winograd's error against the Double
    /// computation stays within a small multiple of im2col's own Float error.
    @Test("Float on ResNet-sized layers: error against Double within 1e-5 relative and 4× im2col's")
    func floatErrorOnRealLayerSizes() {
        for (c, side) in [(64, 28), (128, 14), (256, 7)] {
            let s = Shape(channels: c, outputs: c, height: side, width: side, padding: 1, bias: false)
            let exact = Self.run(s, algorithm: .perSample, as: Double.self, batch: 2).values
            let im2col = Self.run(s, algorithm: .perSample, as: Float.self, batch: 2).values
            let winograd = Self.run(s, algorithm: .winograd, as: Float.self, batch: 2).values
            for k in 0..<3 {
                let e = exact[k].elements
                let scale = e.map(abs).max()!
                func error(_ m: Matrix<Float>) -> Double {
                    zip(m.elements, e).map { abs(Double($0) - $1) }.max()! / scale
                }
                let w = error(winograd[k]), i = error(im2col[k])
                #expect(w < 1e-5, "\(c) × \(side)², tensor \(k): Winograd \(w), im2col \(i)")
                #expect(w < 4 * max(i, 1e-7), "\(c) × \(side)², tensor \(k): Winograd \(w), im2col \(i)")
            }
        }
    }

    @Test("Finite differences (Double) for the input, weight and bias gradients through the Winograd kernel")
    func gradientsMatchFiniteDifferences() {
        for s in [Self.shapes[0], Self.shapes[3], Self.shapes[6]] {
            for blockTiles in [2, 512] {
                let layer = Self.layer(s, algorithm: .winograd)
                layer.winogradBlockTiles = blockTiles
                let check = LayerGradientCheck(layer, input: randomTensor(batch: 2, shape: TensorShape(channels: s.channels, height: s.height, width: s.width), seed: 62))
                #expect(check.parameterErrors.keys.sorted() == (s.bias ? ["bias", "weight"] : ["weight"]))
                #expect(check.worst < LayerGradientTests.tolerance, "\(s), \(blockTiles) tiles: \(check.worst)")
            }
        }
    }

    @Test("A fixed thread count repeats bit for bit; one pool thread is the serial computation")
    func deterministic() {
        for s in [Self.shapes[0], Self.shapes[2]] {
            for threads in [2, 3, 5] {
                let first = Self.run(s, algorithm: .winograd, as: Float.self, batch: 7, threads: threads, blockTiles: 6).values
                let second = Self.run(s, algorithm: .winograd, as: Float.self, batch: 7, threads: threads, blockTiles: 6).values
                #expect(first == second, "\(s), \(threads) threads")
            }
            #expect(Self.run(s, algorithm: .winograd, batch: 7, threads: 1).values == Self.run(s, algorithm: .winograd, batch: 7).values)
        }
    }

    @Test func frozenOrWithoutTheInputGradient() {
        let s = Self.shapes[0]
        for threads in [nil, 2] as [Int?] {
            let full = Self.run(s, algorithm: .winograd, batch: 4, threads: threads).values
            let frozen = Self.run(s, algorithm: .winograd, batch: 4, threads: threads, frozen: true).values
            #expect(frozen[1] == full[1])
            for gradient in frozen.dropFirst(2) { #expect(gradient.elements.allSatisfy { $0 == 0 }) }
            #expect(full[2].elements.contains { $0 != 0 })
            let lean = Self.run(s, algorithm: .winograd, batch: 4, threads: threads, inputGradient: false).values
            #expect(lean[1].elements.allSatisfy { $0 == 0 })
            for k in 2..<full.count { #expect(lean[k] == full[k]) }
        }
    }

    @Test("Evaluation mode keeps the transformed weights only while the weights are unchanged")
    func weightCacheFollowsTheWeights() {
        let s = Self.shapes[2]
        let layer = Self.layer(s, algorithm: .winograd)
        let x = randomTensor(batch: 3, shape: TensorShape(channels: s.channels, height: s.height, width: s.width), seed: 63)
        let first = layer.forward(x, training: false).values
        #expect(layer.forward(x, training: false).values == first)
        // An in-place update (as an optimizer's) and an assignment both reach the next pass.
        layer.visitParameters { name, value, _ in if name == "weight" { value[0, 0] += 0.5 } }
        let updated = layer.forward(x, training: false).values
        let reference = Self.layer(s, algorithm: .perSample)
        reference.weight = layer.weight
        #expect(Self.relative(updated, reference.forward(x, training: false).values) < 1e-12)
        #expect(updated != first)
        var changed = layer.weight
        changed[1, 2] -= 1
        layer.weight = changed
        reference.weight = changed
        #expect(Self.relative(layer.forward(x, training: false).values, reference.forward(x, training: false).values) < 1e-12)
    }

    @Test("Other layers under .winograd run their usual kernels; .automatic picks Winograd for 3×3 stride-1 layers")
    func selection() {
        // Stride 2, 5×5 and grouped layers are not Winograd's: `.winograd` gives im2col's numbers.
        var rng = SeededGenerator(seed: 64)
        let x = randomTensor(batch: 2, shape: TensorShape(channels: 4, height: 7, width: 7), seed: 65)
        for (k, stride, groups) in [(3, 2, 1), (5, 1, 1), (3, 1, 2)] {
            let a = Conv2D<Double>(4, 4, kernelSize: k, stride: stride, padding: 1, groups: groups, generator: &rng)
            let b = Conv2D<Double>(4, 4, kernelSize: k, stride: stride, padding: 1, groups: groups, generator: &rng)
            b.weight = a.weight
            a.algorithm = .winograd
            b.algorithm = .perSample
            let counter = ProductCounter()
            a.gemmObserver = counter
            #expect(a.forward(x, training: true).values.maxAbsDifference(b.forward(x, training: true).values) < 1e-12)
            #expect(counter.calls == 2 * groups, "k \(k) s \(stride) g \(groups): im2col per sample and group")
        }
        // `.automatic`: Winograd from 32 channels in and out on planes where the tiles save at
        // least half of the multiplications (8×8 yes, 7×7 no); one observed product batch (a
        // block) for Winograd, one per sample for im2col per sample (batching does not pay here).
        func pays(_ c: Int, _ o: Int, _ side: Int) -> Bool {
            Conv2D<Double>.winogradPays(WinogradTiling(ConvolutionGeometry(channels: c, height: side, width: side, kernel: 3,
                                                                            stride: 1, padding: 1)), outputs: o)
        }
        #expect(pays(32, 32, 8) && pays(64, 64, 56) && pays(32, 40, 27))
        #expect(!pays(16, 64, 56) && !pays(64, 16, 56) && !pays(512, 512, 7) && !pays(64, 64, 13))
        for (c, side, winograd) in [(32, 8, true), (16, 8, false), (32, 7, false)] {
            let s = Shape(channels: c, outputs: 32, height: side, width: side, padding: 1, bias: false)
            #expect(Self.run(s, algorithm: .automatic, batch: 2).forwardProducts == (winograd ? 1 : 2), "\(c) channels, \(side)×\(side)")
        }
    }
}
