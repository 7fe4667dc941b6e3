import Testing
import DMLNetworks
import DMLNumerics

/// The optimizer update of all parameters in one parallel region: the parameters' elements laid
/// end to end and cut into balanced chunks, so a chunk may cover the end of one tensor and the
/// start of the next. Elementwise, so every thread count must give the serial numbers bit for bit.
@Suite struct OptimizerRegionTests {
    /// A model whose trainable tensors have assorted sizes (a few elements up to more than two
    /// elementwise grains), some frozen, so chunk boundaries fall inside and between tensors.
    static func model(seed: UInt64) -> Sequential<Double> {
        var g = SeededGenerator(seed: seed)
        let frozen = Linear<Double>(weight: g.normalMatrix(rows: 3, columns: 5), bias: Matrix(rows: 1, columns: 3, repeating: 0.5))
        frozen.isFrozen = true
        return Sequential<Double>(named: [
            ("a", Linear<Double>(weight: g.normalMatrix(rows: 7, columns: 3), bias: Matrix(rows: 1, columns: 7, repeating: 0.1))),
            ("b", Linear<Double>(weight: g.normalMatrix(rows: 300, columns: 250), bias: nil)),
            ("frozen", frozen),
            ("bn", BatchNorm<Double>(channels: 5)),
            ("c", Linear<Double>(weight: g.normalMatrix(rows: 41, columns: 1000), bias: Matrix(rows: 1, columns: 41))),
        ])
    }

    /// Sets every trainable gradient to seeded normal values (the same for a given `seed` and step).
    static func setGradients(_ model: Sequential<Double>, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        model.visitTrainableParameters { _, value, gradient in
            gradient = g.normalMatrix(rows: value.rows, columns: value.columns)
        }
    }

    /// Every parameter and buffer of `model` by name.
    static func state(_ model: Sequential<Double>) -> [String: Matrix<Double>] {
        var out = [String: Matrix<Double>]()
        model.visitParameters { name, value, gradient in
            out[name] = value
            out[name + ".grad"] = gradient
        }
        return out
    }

    /// Three steps of each optimizer on a fresh model, with `pool` (nil: serial).
    static func train(_ pool: ThreadPool?) -> [[String: Matrix<Double>]] {
        var results = [[String: Matrix<Double>]]()
        var adam = Adam<Double>(learningRate: 0.01, weightDecay: .decoupled(0.1), pool: pool)
        var sgd = SGD<Double>(learningRate: 0.01, momentum: 0.9, nesterov: true, pool: pool)
        var plain = SGD<Double>(learningRate: 0.05, momentum: 0, weightDecay: .coupled(0.01), pool: pool)
        let models = [model(seed: 1), model(seed: 1), model(seed: 1)]
        for step in 0..<3 {
            for m in models { setGradients(m, seed: 100 + UInt64(step)) }
            adam.step(models[0])
            sgd.step(models[1])
            plain.step(models[2])
        }
        for m in models { results.append(state(m)) }
        return results
    }

    @Test("Adam, SGD with and without momentum over one region: every thread count gives the serial bits")
    func oneRegionEqualsSerial() {
        let serial = Self.train(nil)
        let initial = Self.state(Self.model(seed: 1))
        // The updates did something, and left the frozen layer alone.
        for result in serial {
            #expect(result["b.weight"] != initial["b.weight"])
            #expect(result["a.bias"] != initial["a.bias"])
            #expect(result["frozen.weight"] == initial["frozen.weight"])
            #expect(result["frozen.bias"] == initial["frozen.bias"])
        }
        for threads in [1, 2, 3, 5] {
            let split = Self.train(ThreadPool(threads: threads))
            #expect(split == serial, "\(threads) threads differ from the serial update")
        }
    }

    @Test("The region really splits: a 2-thread step runs one region, and each parameter's update equals its own serial update")
    func oneRegionPerStep() {
        let pool = ThreadPool(threads: 2)
        let model = Self.model(seed: 2)
        Self.setGradients(model, seed: 7)
        var adam = Adam<Double>(learningRate: 0.01, pool: pool)
        pool.resetStatistics()
        adam.step(model)
        #expect(pool.statistics.regions == 1)
        // The same update one tensor at a time, on a model holding that tensor alone.
        let fresh = Self.model(seed: 2)
        Self.setGradients(fresh, seed: 7)
        var gradients = [String: Matrix<Double>]()
        fresh.visitTrainableParameters { name, _, gradient in gradients[name] = gradient }
        var updated = [String: Matrix<Double>]()
        fresh.visitTrainableParameters { name, value, gradient in
            let holder = Linear<Double>(weight: value, bias: nil)
            holder.weightGradient = gradient
            var single = Adam<Double>(learningRate: 0.01)
            single.step(holder)
            updated[name] = holder.weight
        }
        var checked = 0
        model.visitTrainableParameters { name, value, _ in
            #expect(value == updated[name], "\(name)")
            checked += 1
        }
        #expect(checked == 7 && gradients.count == 7)
    }

    @Test("A layer instance held twice keeps its weights: updated once, at its first visit")
    func sharedLayerKeepsItsWeights() {
        var g = SeededGenerator(seed: 9)
        let weights: Matrix<Double> = g.normalMatrix(rows: 4, columns: 3)
        let gradient: Matrix<Double> = g.normalMatrix(rows: 4, columns: 3)
        let shared = Linear<Double>(weight: weights, bias: nil)
        let model = Sequential<Double>(named: [("first", shared), ("second", shared)])
        shared.weightGradient = gradient
        var adam = Adam<Double>(learningRate: 0.01, pool: ThreadPool(threads: 2))
        adam.step(model)
        let single = Linear<Double>(weight: weights, bias: nil)
        single.weightGradient = gradient
        var reference = Adam<Double>(learningRate: 0.01)
        reference.step(single)
        #expect(shared.weight == single.weight && shared.weight != weights)
        #expect(shared.weightGradient == gradient)
    }
}
