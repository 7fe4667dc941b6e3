import Testing
import DMLNetworks
import DMLNumerics

/// Layers and optimizers on a `ThreadPool`: the elementwise layers give the same numbers as on
/// one thread, the split GEMMs of `Linear` agree with the unsplit ones, and whole training steps
/// repeat exactly at a fixed thread count.
@Suite struct ParallelLayerTests {
    /// Parameters after `steps` steps of forward + backward (½‖y − t‖²) + `optimizer` on `model`.
    static func train(_ model: Sequential<Float>, input: Tensor<Float>, target: Matrix<Float>,
                      optimizer: inout some Optimizer<Float>, steps: Int) -> [Float] {
        for _ in 0..<steps {
            model.zeroGradients()
            var g = model.forward(input, training: true)
            g.values.add(target, scaledBy: -1)
            _ = model.backward(g)
            optimizer.step(model)
        }
        var out = [Float]()
        model.visitParameters { _, value, _ in value.withUnsafeBufferPointer { out += $0 } }
        return out
    }

    static func batch(rows: Int, shape: TensorShape, outputs: Int, seed: UInt64) -> (Tensor<Float>, Matrix<Float>) {
        var generator = SeededGenerator(seed: seed)
        let x = Tensor(generator.normalMatrix(rows: rows, columns: shape.count, as: Float.self), shape: shape)
        return (x, generator.normalMatrix(rows: rows, columns: outputs))
    }

    @Test("An MLP with batch norm, dropout and L2 normalization trains to the same bits on 1, 2 and 3 threads (Adam, SGD)")
    func mlpIdenticalAcrossThreadCounts() {
        let (x, t) = Self.batch(rows: 64, shape: .vector(40), outputs: 16, seed: 2)
        func run(_ threads: Int?, sgd: Bool) -> [Float] {
            let model: Sequential<Float> = ModelPresets.mlp(inputDimension: 40, hiddenDimensions: [600], embeddingDimension: 16,
                                                            batchNorm: true, dropout: 0.3, seed: 7)
            let pool = threads.map { ThreadPool(threads: $0) }
            model.use(pool: pool)
            if sgd {
                var optimizer = SGD<Float>(learningRate: 0.05, momentum: 0.9, pool: pool)
                return Self.train(model, input: x, target: t, optimizer: &optimizer, steps: 3)
            }
            var optimizer = Adam<Float>(learningRate: 1e-2, pool: pool)
            return Self.train(model, input: x, target: t, optimizer: &optimizer, steps: 3)
        }
        for sgd in [false, true] {
            let serial = run(nil, sgd: sgd)
            for threads in [1, 2, 3] {
                #expect(run(threads, sgd: sgd) == serial)
            }
        }
    }

    @Test("The small CNN's training steps repeat exactly at a fixed thread count")
    func cnnRepeatsAtFixedThreadCount() {
        let (x, t) = Self.batch(rows: 6, shape: TensorShape(channels: 1, height: 28, width: 28), outputs: 8, seed: 3)
        for threads in [1, 2] {
            var results = [[Float]]()
            for _ in 0..<2 {
                let model: Sequential<Float> = ModelPresets.fashionMNIST(embeddingDimension: 8, seed: 4)
                let pool = ThreadPool(threads: threads)
                model.use(pool: pool)
                var optimizer = Adam<Float>(learningRate: 1e-3, pool: pool)
                results.append(Self.train(model, input: x, target: t, optimizer: &optimizer, steps: 2))
            }
            #expect(results[0] == results[1])
        }
    }

    @Test("Linear's GEMMs split over the pool agree with one GEMM, and repeat exactly", arguments: [2, 3])
    func splitLinearMatchesUnsplit(threads: Int) {
        var generator = SeededGenerator(seed: 9)
        let weight: Matrix<Double> = generator.normalMatrix(rows: 37, columns: 23)
        let bias: Matrix<Double> = generator.normalMatrix(rows: 1, columns: 37)
        let x = Tensor(generator.normalMatrix(rows: 29, columns: 23, as: Double.self))
        let g = Tensor(generator.normalMatrix(rows: 29, columns: 37, as: Double.self))
        func pass(_ pool: ThreadPool?) -> (Matrix<Double>, Matrix<Double>, Matrix<Double>, Matrix<Double>) {
            let layer = Linear<Double>(weight: weight, bias: bias)
            layer.pool = pool
            layer.parallelWork = 0  // split every GEMM
            let y = layer.forward(x, training: true).values
            let dx = layer.backward(g).values
            return (y, dx, layer.weightGradient, layer.biasGradient!)
        }
        let serial = pass(nil)
        let pool = ThreadPool(threads: threads)
        let split = pass(pool)
        for (a, b) in [(serial.0, split.0), (serial.1, split.1), (serial.2, split.2), (serial.3, split.3)] {
            #expect(a.rows == b.rows && a.columns == b.columns)
            for i in 0..<a.rows { for j in 0..<a.columns { #expect(abs(a[i, j] - b[i, j]) <= 1e-12 * (1 + abs(a[i, j]))) } }
        }
        let again = pass(pool)
        #expect(again.0 == split.0 && again.1 == split.1 && again.2 == split.2)
    }

    @Test("Dropout masks do not depend on the thread count and drop about p of the values")
    func dropoutMaskIsThreadCountFree() {
        let x = Tensor(Matrix<Float>(rows: 8, columns: 10_000, repeating: 1))
        func mask(_ threads: Int?) -> Matrix<Float> {
            let layer = Dropout<Float>(probability: 0.25, seed: 12)
            layer.pool = threads.map { ThreadPool(threads: $0) }
            _ = layer.forward(x, training: true)
            return layer.forward(x, training: true).values  // the second pass: stream t = 1
        }
        let serial = mask(nil)
        for threads in [1, 2, 5] { #expect(mask(threads) == serial) }
        let dropped = serial.withUnsafeBufferPointer { $0.filter { $0 == 0 }.count }
        #expect(abs(Double(dropped) / Double(serial.count) - 0.25) < 0.01)
        #expect(serial.withUnsafeBufferPointer { $0.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3.0) < 1e-6 } })
    }
}
