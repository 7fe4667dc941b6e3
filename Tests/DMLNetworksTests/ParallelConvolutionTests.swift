import Testing
import DMLNetworks
import DMLNumerics

/// Convolution, batch norm and pooling on a `ThreadPool`: a one-thread pool gives exactly the
/// serial numbers, a fixed thread count gives the same numbers run after run, and different
/// thread counts agree up to rounding (the per-worker weight-gradient partial sums are added in
/// another grouping). Batch norm and pooling split by channel or plane, so they give the same
/// numbers at every thread count.
@Suite struct ParallelConvolutionTests {
    /// The output, the input gradient and every parameter gradient after one forward and one
    /// backward pass (with `∂L/∂y` = `upstream`), on `pool`.
    static func pass(_ model: Sequential<Double>, _ x: Tensor<Double>, upstream: (Int) -> Matrix<Double>,
                     pool: ThreadPool?) -> [Double] {
        model.use(pool: pool)
        splitEverything(model)
        model.zeroGradients()
        let y = model.forward(x, training: true)
        let dx = model.backward(Tensor(upstream(y.values.columns), shape: y.shape))
        var out = [Double]()
        y.values.withUnsafeBufferPointer { out += $0 }
        dx.values.withUnsafeBufferPointer { out += $0 }
        model.visitParameters { _, _, gradient in gradient.withUnsafeBufferPointer { out += $0 } }
        return out
    }

    /// Sets the split threshold of batch norm and pooling to one element, so the small test
    /// tensors are split too.
    static func splitEverything(_ layer: any Layer<Double>) {
        (layer as? BatchNorm<Double>)?.minimumParallelElements = 1
        (layer as? MaxPool2D<Double>)?.minimumParallelElements = 1
        (layer as? AvgPool2D<Double>)?.minimumParallelElements = 1
        layer.visitChildren { _, child in splitEverything(child) }
    }

    /// Every convolution kernel (im2col per sample with bias and stride, grouped, depthwise,
    /// pointwise), batch norm, both poolings and a residual block.
    static func convolutionModel() -> Sequential<Double> {
        var g = SeededGenerator(seed: 21)
        let block = Residual<Double>(named: [
            ("expand", Conv2D<Double>(6, 12, kernelSize: 1, bias: false, generator: &g)),
            ("bn0", BatchNorm<Double>(channels: 12)),
            ("depthwise", Conv2D<Double>(12, 12, kernelSize: 3, padding: 1, groups: 12, bias: false, generator: &g)),
            ("bn1", BatchNorm<Double>(channels: 12)),
            ("project", Conv2D<Double>(12, 6, kernelSize: 1, generator: &g)),
        ])
        return Sequential<Double>([
            Conv2D<Double>(3, 8, kernelSize: 3, stride: 1, padding: 1, generator: &g),
            BatchNorm<Double>(channels: 8),
            MaxPool2D<Double>(kernelSize: 3, stride: 2, padding: 1, ceilMode: true),
            Conv2D<Double>(8, 6, kernelSize: 3, stride: 2, padding: 1, groups: 2, generator: &g),
            block,
            Conv2D<Double>(6, 6, kernelSize: 3, stride: 2, padding: 1, groups: 6, generator: &g),
            AvgPool2D<Double>(kernelSize: 2, stride: 1, padding: 1, countIncludesPadding: false),
        ])
    }

    static func input(batch: Int, seed: UInt64) -> (Tensor<Double>, (Int) -> Matrix<Double>) {
        var g = SeededGenerator(seed: seed)
        let x = Tensor(g.normalMatrix(rows: batch, columns: 3 * 15 * 15, as: Double.self),
                       shape: TensorShape(channels: 3, height: 15, width: 15))
        var h = SeededGenerator(seed: seed + 1)
        return (x, { columns in h.normalMatrix(rows: batch, columns: columns, as: Double.self) })
    }

    @Test("Convolutions, batch norm and pooling: one pool thread is the serial computation; 2, 3 and 5 threads repeat exactly and agree to rounding")
    func convolutionModelAcrossThreadCounts() {
        let (x, _) = Self.input(batch: 7, seed: 5)
        func run(_ threads: Int?) -> [Double] {
            let (_, upstream) = Self.input(batch: 7, seed: 5)
            return Self.pass(Self.convolutionModel(), x, upstream: upstream, pool: threads.map { ThreadPool(threads: $0) })
        }
        let serial = run(nil)
        #expect(run(1) == serial)
        for threads in [2, 3, 5] {
            let first = run(threads), second = run(threads)
            #expect(first == second, "\(threads) threads: two runs differ")
            #expect(first.count == serial.count)
            let worst = zip(first, serial).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
            #expect(worst < 1e-12, "\(threads) threads differ from one by \(worst)")
        }
    }

    @Test("The samples really are split: with 2 threads a weight gradient differs from the serial one only by rounding, never by a missing chunk")
    func everySampleContributes() {
        var g = SeededGenerator(seed: 3)
        let weight = Conv2D<Double>(2, 3, kernelSize: 3, padding: 1, generator: &g).weight
        let x = Tensor(g.normalMatrix(rows: 5, columns: 2 * 6 * 6, as: Double.self), shape: TensorShape(channels: 2, height: 6, width: 6))
        let upstream: Matrix<Double> = g.normalMatrix(rows: 5, columns: 3 * 36)
        func gradient(threads: Int?, samples: Range<Int>) -> Matrix<Double> {
            var h = SeededGenerator(seed: 3)
            let conv = Conv2D<Double>(2, 3, kernelSize: 3, padding: 1, generator: &h)
            conv.weight = weight
            conv.pool = threads.map { ThreadPool(threads: $0) }
            var rows = Matrix<Double>(rows: samples.count, columns: x.values.columns)
            var up = Matrix<Double>(rows: samples.count, columns: upstream.columns)
            for (r, n) in samples.enumerated() {
                for c in 0..<rows.columns { rows[r, c] = x.values[n, c] }
                for c in 0..<up.columns { up[r, c] = upstream[n, c] }
            }
            _ = conv.forward(Tensor(rows, shape: x.shape), training: true)
            _ = conv.backward(Tensor(up, shape: TensorShape(channels: 3, height: 6, width: 6)))
            return conv.weightGradient
        }
        let parallel = gradient(threads: 2, samples: 0..<5)
        // The sum of the chunks' gradients computed serially, added in chunk order (2 threads cut
        // 5 samples into 2 head chunks and 3 tail chunks of one sample each).
        let split = BalancedSplit(count: 5, threads: 2)
        #expect(split.chunks == 5)
        var expected = gradient(threads: nil, samples: split.range(0))
        for k in 1..<split.chunks { expected.add(gradient(threads: nil, samples: split.range(k)), scaledBy: 1) }
        for i in 0..<parallel.rows {
            for j in 0..<parallel.columns {
                #expect(parallel[i, j] == expected[i, j])
            }
        }
    }

    @Test("Batch norm and pooling alone give the same bits at every thread count", arguments: [2, 3, 4])
    func normalizationAndPoolingIdentical(threads: Int) {
        func model() -> Sequential<Double> {
            Sequential<Double>([BatchNorm<Double>(channels: 3), MaxPool2D<Double>(kernelSize: 2),
                                BatchNorm<Double>(channels: 3), AvgPool2D<Double>(kernelSize: 3, stride: 2, padding: 1)])
        }
        let (x, _) = Self.input(batch: 9, seed: 8)
        let (_, upSerial) = Self.input(batch: 9, seed: 8)
        let (_, upParallel) = Self.input(batch: 9, seed: 8)
        let serial = Self.pass(model(), x, upstream: upSerial, pool: nil)
        #expect(Self.pass(model(), x, upstream: upParallel, pool: ThreadPool(threads: threads)) == serial)
    }
}
