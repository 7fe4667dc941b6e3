import Testing
import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// Grouped, depthwise, pointwise and rectangular convolutions with per-side padding: forward
/// against a direct loop, backward against finite differences.
@Suite struct ConvolutionVariantTests {
    /// One convolution configuration.
    struct Case: CustomStringConvertible, Sendable {
        var channels: Int, outputs: Int, groups: Int
        var kernel: Size2D, stride: Size2D, padding: Padding2D
        var height: Int, width: Int
        var description: String { "C\(channels)→\(outputs) g\(groups) k\(kernel) s\(stride) p\(padding) on \(height)×\(width)" }
    }

    static let cases: [Case] = [
        // grouped
        Case(channels: 4, outputs: 6, groups: 2, kernel: 3, stride: 1, padding: 1, height: 5, width: 6),
        Case(channels: 6, outputs: 3, groups: 3, kernel: 3, stride: 2, padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1), height: 6, width: 7),
        // depthwise, multiplier 1 and 2, kernels 3/5/7, stride 1/2, TF "same" (asymmetric) padding
        Case(channels: 3, outputs: 3, groups: 3, kernel: 3, stride: 1, padding: 1, height: 5, width: 5),
        Case(channels: 3, outputs: 3, groups: 3, kernel: 3, stride: 2, padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1), height: 6, width: 6),
        Case(channels: 2, outputs: 4, groups: 2, kernel: 5, stride: 2, padding: Padding2D(top: 1, bottom: 2, left: 1, right: 2), height: 7, width: 8),
        Case(channels: 2, outputs: 2, groups: 2, kernel: 7, stride: 1, padding: 3, height: 7, width: 6),
        Case(channels: 2, outputs: 2, groups: 2, kernel: 5, stride: 1, padding: Padding2D(top: 2, bottom: 2, left: 1, right: 3), height: 5, width: 4),
        // pointwise (1×1, stride 1, unpadded), dense and grouped
        Case(channels: 4, outputs: 5, groups: 1, kernel: 1, stride: 1, padding: 0, height: 3, width: 4),
        Case(channels: 4, outputs: 6, groups: 2, kernel: 1, stride: 1, padding: 0, height: 3, width: 3),
        // 1×1 stride 2 (a ResNet downsample) and rectangular kernels and strides
        Case(channels: 3, outputs: 4, groups: 1, kernel: 1, stride: 2, padding: 0, height: 5, width: 6),
        Case(channels: 2, outputs: 3, groups: 1, kernel: Size2D(height: 1, width: 3), stride: Size2D(height: 1, width: 2), padding: Padding2D(height: 0, width: 1), height: 4, width: 7),
        Case(channels: 2, outputs: 3, groups: 1, kernel: Size2D(height: 3, width: 1), stride: Size2D(height: 2, width: 1), padding: Padding2D(top: 1, bottom: 0, left: 0, right: 0), height: 6, width: 3),
        // same-size stride-1 asymmetric padding (the contiguous-shift im2col path)
        Case(channels: 2, outputs: 3, groups: 1, kernel: 4, stride: 1, padding: Padding2D(top: 1, bottom: 2, left: 2, right: 1), height: 5, width: 6),
        Case(channels: 2, outputs: 2, groups: 1, kernel: 7, stride: 2, padding: 3, height: 9, width: 8),
    ]

    /// The direct definition: `y[n, o, r, q] = b_o + Σ_{c<C/g, i, j} W[o, c, i, j] ·
    /// x[n, ⌊o/(O/g)⌋·C/g + c, r·sh − top + i, q·sw − left + j]`.
    static func direct(_ x: Tensor<Double>, weight: Matrix<Double>, bias: Matrix<Double>?, _ c: Case) -> Matrix<Double> {
        let h = x.shape.height, w = x.shape.width, kh = c.kernel.height, kw = c.kernel.width
        let cg = c.channels / c.groups, og = c.outputs / c.groups
        let oh = (h + c.padding.top + c.padding.bottom - kh) / c.stride.height + 1
        let ow = (w + c.padding.left + c.padding.right - kw) / c.stride.width + 1
        var y = Matrix<Double>(rows: x.batch, columns: c.outputs * oh * ow)
        for n in 0..<x.batch {
            for o in 0..<c.outputs {
                for r in 0..<oh {
                    for q in 0..<ow {
                        var sum = bias?[0, o] ?? 0
                        for ci in 0..<cg {
                            let channel = (o / og) * cg + ci
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let ih = r * c.stride.height - c.padding.top + i, iw = q * c.stride.width - c.padding.left + j
                                    guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                                    sum += weight[o, (ci * kh + i) * kw + j] * x.values[n, (channel * h + ih) * w + iw]
                                }
                            }
                        }
                        y[n, (o * oh + r) * ow + q] = sum
                    }
                }
            }
        }
        return y
    }

    static func layer(_ c: Case, bias: Bool, seed: UInt64) -> Conv2D<Double> {
        var rng = SeededGenerator(seed: seed)
        let layer = Conv2D<Double>(c.channels, c.outputs, kernel: c.kernel, stride: c.stride, padding: c.padding,
                                   groups: c.groups, bias: bias, generator: &rng)
        if bias { layer.bias = rng.normalMatrix(rows: 1, columns: c.outputs) }
        return layer
    }

    @Test(arguments: cases)
    func forwardMatchesTheDirectDefinition(_ c: Case) throws {
        for algorithm in ConvolutionAlgorithm.allCases {
            for (withBias, specialized) in [(true, true), (false, true), (true, false), (false, false)] {
                let layer = Self.layer(c, bias: withBias, seed: 60)
                layer.algorithm = algorithm
                layer.usesSpecializedKernels = specialized
                let x = randomTensor(batch: 3, shape: TensorShape(channels: c.channels, height: c.height, width: c.width), seed: 61)
                let y = layer.forward(x, training: true)
                #expect(y.shape == (try layer.outputShape(for: x.shape)))
                let expected = Self.direct(x, weight: layer.weight, bias: layer.bias, c)
                #expect(y.values.maxAbsDifference(expected) < 1e-12, "\(c), \(algorithm), bias \(withBias), specialized \(specialized)")
            }
        }
    }

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ c: Case) {
        for (algorithm, specialized) in [(ConvolutionAlgorithm.perSample, true), (.perSample, false), (.batched, true)] {
            let layer = Self.layer(c, bias: true, seed: 62)
            layer.algorithm = algorithm
            layer.usesSpecializedKernels = specialized
            let check = LayerGradientCheck(layer, input: randomTensor(batch: 2, shape: TensorShape(channels: c.channels, height: c.height, width: c.width), seed: 63))
            #expect(check.parameterErrors.keys.sorted() == ["bias", "weight"])
            #expect(check.worst < LayerGradientTests.tolerance, "\(c), \(algorithm), specialized \(specialized)")
        }
    }

    /// Depthwise stride-1 "same" layers on planes above 32×32 run row by row, smaller ones with
    /// contiguous loops: both against the direct definition, and their gradients against the
    /// im2col + GEMM path (itself checked by finite differences above).
    @Test func largeDepthwisePlanesAgreeWithIm2col() {
        for c in [Case(channels: 2, outputs: 2, groups: 2, kernel: 3, stride: 1, padding: Padding2D(top: 0, bottom: 2, left: 1, right: 1), height: 33, width: 32),
                  Case(channels: 2, outputs: 4, groups: 2, kernel: 5, stride: 1, padding: 2, height: 40, width: 40)] {
            let own = Self.layer(c, bias: true, seed: 90), generic = Self.layer(c, bias: true, seed: 90)
            generic.usesSpecializedKernels = false
            let x = randomTensor(batch: 2, shape: TensorShape(channels: c.channels, height: c.height, width: c.width), seed: 91)
            let y = own.forward(x, training: true)
            #expect(y.values.maxAbsDifference(Self.direct(x, weight: own.weight, bias: own.bias, c)) < 1e-12, "\(c)")
            #expect(y.values.maxAbsDifference(generic.forward(x, training: true).values) < 1e-12)
            let g = randomTensor(batch: 2, shape: y.shape, seed: 92)
            own.zeroGradients()
            generic.zeroGradients()
            #expect(own.backward(g).values.maxAbsDifference(generic.backward(g).values) < 1e-12, "\(c)")
            #expect(own.weightGradient.maxAbsDifference(generic.weightGradient) < 1e-10, "\(c)")
            #expect(own.biasGradient!.maxAbsDifference(generic.biasGradient!) < 1e-10)
        }
    }

    @Test func logicalShapeIsPyTorchs() {
        let depthwise = Self.layer(Self.cases[4], bias: true, seed: 1)
        var shapes: [String: [Int]] = [:]
        depthwise.visitLogicalShapes { shapes[$0] = $1 }
        #expect(shapes == ["weight": [4, 1, 5, 5], "bias": [4]])
        #expect(depthwise.isDepthwise)
        #expect(depthwise.weight.rows == 4 && depthwise.weight.columns == 25)
        let grouped = Self.layer(Self.cases[0], bias: false, seed: 1)
        shapes = [:]
        grouped.visitLogicalShapes { shapes[$0] = $1 }
        #expect(shapes == ["weight": [6, 2, 3, 3]])
        #expect(!grouped.isDepthwise)
    }

    @Test func depthwiseHandComputed() {
        // Two 3×3 planes, a 2×2 kernel per plane, stride 1, TF "same" padding (0 top/left, 1 bottom/right).
        var rng = SeededGenerator(seed: 0)
        let padding = Padding2D.same(inputHeight: 3, inputWidth: 3, kernel: 2, stride: 1)
        #expect(padding == Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        let layer = Conv2D<Double>(2, 2, kernel: 2, padding: padding, groups: 2, bias: false, generator: &rng)
        layer.weight = Matrix([[1, 1, 1, 1], [0, 0, 0, 2]])
        let x = Tensor(Matrix<Double>([[1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 0, 0, 1, 0, 0, 0, 1]]),
                       shape: TensorShape(channels: 2, height: 3, width: 3))
        let y = layer.forward(x, training: false)
        #expect(y.shape == TensorShape(channels: 2, height: 3, width: 3))
        // Plane 1: 2×2 window sums with zero padding at the bottom/right; plane 2: 2·x[i+1, j+1].
        #expect(y.values == Matrix([[12, 16, 9, 24, 28, 15, 15, 17, 9, 2, 0, 0, 0, 2, 0, 0, 0, 0]]))
    }

    @Test func staticSamePaddingFollowsTheReferenceRule() {
        // (⌈H/s⌉ − 1)·s + k − H, split with the extra row/column at the bottom/right.
        #expect(Padding2D.same(inputHeight: 224, inputWidth: 224, kernel: 3, stride: 2) == Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        #expect(Padding2D.same(inputHeight: 112, inputWidth: 112, kernel: 5, stride: 2) == Padding2D(top: 1, bottom: 2, left: 1, right: 2))
        #expect(Padding2D.same(inputHeight: 112, inputWidth: 112, kernel: 3, stride: 1) == Padding2D(1))
        #expect(Padding2D.same(inputHeight: 14, inputWidth: 14, kernel: 5, stride: 1) == Padding2D(2))
        #expect(Padding2D.same(inputHeight: 7, inputWidth: 7, kernel: 1, stride: 1) == .zero)
        #expect(Padding2D.same(inputHeight: 15, inputWidth: 16, kernel: 3, stride: 2) == Padding2D(top: 1, bottom: 1, left: 0, right: 1))
    }

    @Test func frozenConvolutionKeepsItsGradientsAndStillPassesTheInputGradient() {
        for c in [Self.cases[0], Self.cases[2], Self.cases[7], Self.cases[13]] {
            let reference = Self.layer(c, bias: true, seed: 64), frozen = Self.layer(c, bias: true, seed: 64)
            frozen.isFrozen = true
            let x = randomTensor(batch: 2, shape: TensorShape(channels: c.channels, height: c.height, width: c.width), seed: 65)
            let y = reference.forward(x, training: true)
            _ = frozen.forward(x, training: true)
            let g = randomTensor(batch: 2, shape: y.shape, seed: 66)
            reference.zeroGradients()
            frozen.zeroGradients()
            let dxReference = reference.backward(g), dxFrozen = frozen.backward(g)
            #expect(dxFrozen.values == dxReference.values, "\(c)")
            #expect(frozen.weightGradient == Matrix(rows: frozen.weight.rows, columns: frozen.weight.columns))
            #expect(frozen.biasGradient == Matrix(rows: 1, columns: c.outputs))
            #expect(reference.weightGradient.maxAbsDifference(Matrix(rows: frozen.weight.rows, columns: frozen.weight.columns)) > 0)
        }
    }

    @Test func withoutTheInputGradientTheParameterGradientsAreUnchanged() {
        for c in [Self.cases[1], Self.cases[3], Self.cases[8], Self.cases[12]] {
            let full = Self.layer(c, bias: true, seed: 67), lean = Self.layer(c, bias: true, seed: 67)
            lean.computesInputGradient = false
            let x = randomTensor(batch: 2, shape: TensorShape(channels: c.channels, height: c.height, width: c.width), seed: 68)
            let y = full.forward(x, training: true)
            _ = lean.forward(x, training: true)
            let g = randomTensor(batch: 2, shape: y.shape, seed: 69)
            _ = full.backward(g)
            let dx = lean.backward(g)
            #expect(dx.values == Matrix(rows: 2, columns: x.shape.count), "\(c)")
            #expect(lean.weightGradient.maxAbsDifference(full.weightGradient) < 1e-12, "\(c)")
            #expect(lean.biasGradient == full.biasGradient)
        }
    }

    @Test func badGroupsAndShapesAreClearErrors() {
        var rng = SeededGenerator(seed: 1)
        let layer = Conv2D<Double>(4, 4, kernelSize: 3, groups: 4, generator: &rng)
        #expect(throws: NetworkShapeError.self) { try layer.outputShape(for: TensorShape(channels: 3, height: 5, width: 5)) }
        #expect(throws: NetworkShapeError.self) { try layer.outputShape(for: TensorShape(channels: 4, height: 2, width: 5)) }
        #expect((try? layer.outputShape(for: TensorShape(channels: 4, height: 5, width: 5))) == TensorShape(channels: 4, height: 3, width: 3))
    }
}
