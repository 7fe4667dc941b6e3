import Foundation
import Testing
import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// Pooling with padding, ceil mode and `count_include_pad`, against a direct transcription of
/// PyTorch's definitions, hand-computed cases and finite differences.
@Suite struct PoolingVariantTests {
    struct Case: CustomStringConvertible, Sendable {
        var kernel: Int, stride: Int, padding: Int, ceilMode: Bool, height: Int, width: Int
        var description: String { "k\(kernel) s\(stride) p\(padding)\(ceilMode ? " ceil" : "") on \(height)×\(width)" }
    }

    static let cases: [Case] = [
        Case(kernel: 3, stride: 2, padding: 0, ceilMode: true, height: 8, width: 7),   // GoogLeNet's pools
        Case(kernel: 3, stride: 2, padding: 1, ceilMode: false, height: 8, width: 7),  // ResNet's stem pool
        Case(kernel: 3, stride: 1, padding: 1, ceilMode: true, height: 5, width: 4),   // Inception branch 4
        Case(kernel: 2, stride: 2, padding: 0, ceilMode: true, height: 5, width: 5),
        Case(kernel: 2, stride: 2, padding: 1, ceilMode: true, height: 4, width: 5),
        Case(kernel: 3, stride: 3, padding: 1, ceilMode: true, height: 7, width: 8),
        Case(kernel: 2, stride: 2, padding: 0, ceilMode: false, height: 6, width: 4),
    ]

    /// PyTorch's output size: `⌊(H + 2p − k)/s⌋ + 1`, or with ceil mode `⌈(H + 2p − k)/s⌉ + 1`,
    /// less one when the last window would start at or past `H + p`.
    static func outputSize(_ n: Int, _ c: Case) -> Int {
        let exact = Double(n + 2 * c.padding - c.kernel) / Double(c.stride)
        var size = Int(c.ceilMode ? exact.rounded(.up) : exact.rounded(.down)) + 1
        if c.ceilMode && (size - 1) * c.stride >= n + c.padding { size -= 1 }
        return size
    }

    /// Direct max pooling and the routing of an output gradient (first maximum wins).
    static func directMax(_ x: Tensor<Double>, _ c: Case, gradient: Matrix<Double>) -> (Matrix<Double>, Matrix<Double>) {
        let h = c.height, w = c.width, oh = outputSize(h, c), ow = outputSize(w, c), planes = x.shape.channels
        var y = Matrix<Double>(rows: x.batch, columns: planes * oh * ow)
        var dx = Matrix<Double>(rows: x.batch, columns: x.shape.count)
        for n in 0..<x.batch {
            for p in 0..<planes {
                for r in 0..<oh {
                    for q in 0..<ow {
                        var best = -Double.infinity, at = -1
                        for i in 0..<c.kernel {
                            for j in 0..<c.kernel {
                                let ih = r * c.stride - c.padding + i, iw = q * c.stride - c.padding + j
                                guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                                let v = x.values[n, (p * h + ih) * w + iw]
                                if v > best { best = v; at = (p * h + ih) * w + iw }
                            }
                        }
                        let o = (p * oh + r) * ow + q
                        y[n, o] = best
                        dx[n, at] += gradient[n, o]
                    }
                }
            }
        }
        return (y, dx)
    }

    /// Direct average pooling with PyTorch's divisor: the window clipped to `H + p` (`count_include_pad`)
    /// or to the image.
    static func directAverage(_ x: Tensor<Double>, _ c: Case, includePadding: Bool) -> Matrix<Double> {
        let h = c.height, w = c.width, oh = outputSize(h, c), ow = outputSize(w, c), planes = x.shape.channels
        var y = Matrix<Double>(rows: x.batch, columns: planes * oh * ow)
        for n in 0..<x.batch {
            for p in 0..<planes {
                for r in 0..<oh {
                    for q in 0..<ow {
                        var sum = 0.0, inside = 0, padded = 0
                        for i in 0..<c.kernel {
                            for j in 0..<c.kernel {
                                let ih = r * c.stride - c.padding + i, iw = q * c.stride - c.padding + j
                                if ih < h + c.padding && iw < w + c.padding { padded += 1 }
                                guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                                sum += x.values[n, (p * h + ih) * w + iw]
                                inside += 1
                            }
                        }
                        y[n, (p * oh + r) * ow + q] = sum / Double(includePadding ? padded : inside)
                    }
                }
            }
        }
        return y
    }

    @Test(arguments: cases)
    func maxPoolMatchesTheDefinition(_ c: Case) throws {
        let layer = MaxPool2D<Double>(kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode)
        var rng = SeededGenerator(seed: 70)
        let shape = TensorShape(channels: 2, height: c.height, width: c.width)
        // Small integers make ties common, so the first-maximum rule is exercised.
        let x = Tensor(Matrix<Double>(rows: 2, columns: shape.count) { _, _ in Double(rng.nextInt(below: 4)) - 1 }, shape: shape)
        let y = layer.forward(x, training: true)
        #expect(y.shape == TensorShape(channels: 2, height: Self.outputSize(c.height, c), width: Self.outputSize(c.width, c)))
        #expect(y.shape == (try layer.outputShape(for: shape)))
        let g = Matrix<Double>(rows: 2, columns: y.shape.count) { r, q in Double(r * 100 + q + 1) }
        let (expected, expectedGradient) = Self.directMax(x, c, gradient: g)
        #expect(y.values == expected, "\(c)")
        #expect(layer.backward(Tensor(g, shape: y.shape)).values == expectedGradient, "\(c)")
    }

    @Test(arguments: cases)
    func averagePoolMatchesTheDefinition(_ c: Case) {
        for include in [true, false] {
            let layer = AvgPool2D<Double>(kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode,
                                          countIncludesPadding: include)
            let x = randomTensor(batch: 2, shape: TensorShape(channels: 2, height: c.height, width: c.width), seed: 71)
            let y = layer.forward(x, training: true)
            #expect(y.values.maxAbsDifference(Self.directAverage(x, c, includePadding: include)) < 1e-14, "\(c) include \(include)")
        }
    }

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ c: Case) {
        let shape = TensorShape(channels: 2, height: c.height, width: c.width)
        let maxPool = MaxPool2D<Double>(kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode)
        #expect(LayerGradientCheck(maxPool, input: randomTensor(batch: 2, shape: shape, seed: 72)).worst < LayerGradientTests.tolerance, "\(c)")
        for include in [true, false] {
            let avgPool = AvgPool2D<Double>(kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode,
                                            countIncludesPadding: include)
            #expect(LayerGradientCheck(avgPool, input: randomTensor(batch: 2, shape: shape, seed: 73)).worst < LayerGradientTests.tolerance, "\(c)")
        }
    }

    @Test func handComputedCeilModeAndPadding() {
        // 1×4×4 plane 1…16. MaxPool(3, s=2, ceil): windows start at 0 and 2 → 2×2 output, the
        // second window clipped to rows/columns 2…3.
        let x = Tensor(Matrix<Double>(rows: 1, columns: 16) { _, q in Double(q + 1) }, shape: TensorShape(channels: 1, height: 4, width: 4))
        let ceil = MaxPool2D<Double>(kernelSize: 3, stride: 2, ceilMode: true)
        #expect(ceil.forward(x, training: false).values == Matrix([[11, 12, 15, 16]]))
        let floor = MaxPool2D<Double>(kernelSize: 3, stride: 2)
        #expect(floor.forward(x, training: false).values == Matrix([[11]]))
        // AvgPool(2, s=2, p=1): windows cover rows {-1,0}, {1,2}, {3,4}: the corner window holds 1
        // image value over 4 (count_include_pad) or 1.
        let withPad = AvgPool2D<Double>(kernelSize: 2, stride: 2, padding: 1)
        let y = withPad.forward(x, training: false).values
        #expect(y.rows == 1 && y.columns == 9)
        #expect(y[0, 0] == 1.0 / 4 && y[0, 1] == (2.0 + 3) / 4 && y[0, 4] == (6.0 + 7 + 10 + 11) / 4)
        let withoutPad = AvgPool2D<Double>(kernelSize: 2, stride: 2, padding: 1, countIncludesPadding: false)
        let z = withoutPad.forward(x, training: false).values
        #expect(z[0, 0] == 1 && z[0, 1] == 2.5 && z[0, 8] == 16)
        // AvgPool(3, s=2, ceil) over 4×4: the ceil-mode window at 2 covers rows 2…3 only; with
        // count_include_pad its divisor is still clipped at the input edge (+0 padding): 2·2.
        let ceilAverage = AvgPool2D<Double>(kernelSize: 3, stride: 2, ceilMode: true)
        #expect(ceilAverage.forward(x, training: false).values == Matrix([[6, 7.5, 12, 13.5]]))
    }

    @Test func invalidWindowsAreClearErrors() {
        let pool = MaxPool2D<Double>(kernelSize: 3, stride: 2)
        #expect(throws: NetworkShapeError.self) { try pool.outputShape(for: TensorShape(channels: 1, height: 2, width: 5)) }
        #expect((try? MaxPool2D<Double>(kernelSize: 3, stride: 2, padding: 1).outputShape(for: TensorShape(channels: 1, height: 2, width: 5)))
                == TensorShape(channels: 1, height: 1, width: 3))
    }
}
