import Foundation
import Testing
import DMLNumerics
import DMLNetworks
import DMLBackbones
import DMLDistributed
import MetricLearning
@testable import DMLTraining
import DMLRunDirectory
import DMLTestSupport

/// What one rank ends a run of `SynchronizedBatchNormTests.run` with.
struct RankState<T: BLASScalar>: Sendable {
    /// The global loss, per iteration.
    var losses: [T]
    /// The gathered network output of the last iteration (`B × d`, rank order).
    var output: Matrix<T>
    /// Every parameter gradient of the last iteration, summed over the ranks.
    var gradients: [String: Matrix<T>]
    /// Every parameter after the last update.
    var parameters: [String: Matrix<T>]
    /// The running statistics after the run.
    var buffers: [String: Matrix<T>]
}

/// Synchronized batch normalization (`BatchNorm.synchronizer`, `SynchronizedBatchStatistics`):
/// `N` in-process ranks, each holding `B/N` rows, must compute what one process computes on the
/// whole batch — outputs, loss, every parameter gradient and the running statistics.
@Suite struct SynchronizedBatchNormTests {
    static let batch = 12
    static let imageShape = TensorShape(channels: 2, height: 6, width: 6)

    /// Conv → BN → ReLU → MaxPool → Conv → BN → ReLU → GAP → Linear → L2 (2-D batch norm), or an
    /// MLP with batch norm after each hidden layer (1-D batch norm).
    static func network<T: NetworkScalar>(convolutional: Bool, as _: T.Type) -> Sequential<T> {
        convolutional
            ? ModelPresets.convolutional(input: imageShape, widths: [3, 4], embeddingDimension: 5, seed: 4, as: T.self)
            : ModelPresets.mlp(inputDimension: 7, hiddenDimensions: [6, 5], embeddingDimension: 4, batchNorm: true,
                               seed: 4, as: T.self)
    }

    /// Two training iterations of `network` on `size` ranks with the loss
    /// `L = Σ_ij W_ij y_ij + ½ Σ_ij y_ij²` of the global output `y` (a fixed random `W`), or
    /// with `metric` evaluated on the gathered output (3 classes × 4 samples), each followed by
    /// a plain gradient step `θ ← θ − 0.1 ∂L/∂θ`.
    static func run<T: NetworkScalar & CommunicatedScalar>(
        size: Int, convolutional: Bool, mode: BatchNormMode, metric: LossConfiguration? = nil, as _: T.Type
    ) throws -> [RankState<T>] {
        try run(size: size, shape: convolutional ? imageShape : TensorShape(channels: 7), outputs: convolutional ? 5 : 4,
                batch: batch, classes: 3, iterations: 2, mode: mode, metric: metric) { network(convolutional: convolutional, as: T.self) }
    }

    /// `iterations` training iterations of `make()` on `size` ranks, `batch` rows of `shape`
    /// (`classes` classes of equal size for `metric`), `outputs` columns out; see above.
    static func run<T: NetworkScalar & CommunicatedScalar>(
        size: Int, shape: TensorShape, outputs: Int, batch: Int, classes: Int, iterations: Int, mode: BatchNormMode,
        metric: LossConfiguration?, make: @escaping @Sendable () throws -> Sequential<T>
    ) throws -> [RankState<T>] {
        let width = shape.count
        var rng = SeededGenerator(seed: 17)
        // Inputs with a channel offset (|μ| well above σ) so the statistics matter.
        let inputs: [Matrix<T>] = (0..<iterations).map { _ in
            let x: Matrix<T> = rng.normalMatrix(rows: batch, columns: width)
            return Matrix(rows: batch, columns: width, elements: x.elements.map { $0 + 3 })
        }
        let probe: Matrix<T> = rng.normalMatrix(rows: batch, columns: outputs)
        return try InProcessGroup(size: size).run { communicator in
            let model = try make()
            if size > 1 && mode == .sync { model.synchronizeBatchNorm(with: SynchronizedBatchStatistics(communicator: communicator)) }
            let rows = communicator.slice(ofCount: batch)
            var losses = [T](), output = Matrix<T>(rows: 0, columns: 0), gradients = [String: Matrix<T>]()
            for x in inputs {
                let local = x.gatheringRows(Array(rows))
                let y = model.forward(Tensor(local, shape: shape), training: true)
                let w = probe.gatheringRows(Array(rows))
                output = Matrix(rows: batch, columns: y.values.columns, elements: try communicator.allGather(y.values.elements))
                let g: Matrix<T>
                if let metric {
                    let labels = BatchFactory.labels(classes: classes, perClass: batch / classes)
                    let evaluated: LossOutput<T> = try metric.evaluate(output, labels: labels)
                    losses.append(evaluated.value)
                    g = evaluated.gradient.gatheringRows(Array(rows))
                } else {
                    var partial: T = 0
                    for (a, v) in zip(w.elements, y.values.elements) { partial += a * v + v * v / 2 }
                    g = Matrix(rows: y.values.rows, columns: y.values.columns,
                               elements: zip(w.elements, y.values.elements).map { $0 + $1 })
                    var loss = [partial]
                    try communicator.allReduceSum(&loss)
                    losses.append(loss[0])
                }
                model.zeroGradients()
                _ = model.backward(Tensor(g, shape: y.shape))
                var packed = [T]()
                model.visitParameters { _, _, gradient in packed.append(contentsOf: gradient.elements) }
                try communicator.allReduceSum(&packed)
                var offset = 0
                gradients = [:]
                model.visitParameters { name, value, gradient in
                    let n = gradient.count
                    gradient = Matrix(rows: gradient.rows, columns: gradient.columns, elements: Array(packed[offset..<(offset + n)]))
                    offset += n
                    gradients[name] = gradient
                    let step = gradient.elements
                    value.withUnsafeMutableBufferPointer { v in for k in 0..<n { v[k] -= T(0.1) * step[k] } }
                }
            }
            var parameters = [String: Matrix<T>](), buffers = [String: Matrix<T>]()
            model.visitParameters { name, value, _ in parameters[name] = value }
            model.visitBuffers { name, value in buffers[name] = value }
            return RankState(losses: losses, output: output, gradients: gradients, parameters: parameters, buffers: buffers)
        }
    }

    /// `max |a − b| / max(max |b|, 1e-12)`, the largest difference relative to the tensor's scale.
    static func relativeDifference<T: BLASScalar>(_ a: Matrix<T>, _ b: Matrix<T>) -> Double {
        let scale = max(b.elements.map { abs(Double($0)) }.max() ?? 0, 1e-12)
        return Double(a.maxAbsDifference(b)) / scale
    }

    /// The worst relative difference of `ranks` from `reference` over the loss, the output, every
    /// gradient, parameter and running statistic.
    static func worstDifference<T: BLASScalar>(_ state: RankState<T>, from reference: RankState<T>) throws -> Double {
        var worst = 0.0
        for (a, b) in zip(state.losses, reference.losses) { worst = max(worst, abs(Double(a - b)) / max(abs(Double(b)), 1e-12)) }
        worst = max(worst, relativeDifference(state.output, reference.output))
        for (table, expected) in [(state.gradients, reference.gradients), (state.parameters, reference.parameters),
                                  (state.buffers, reference.buffers)] {
            #expect(Set(table.keys) == Set(expected.keys))
            for (name, value) in expected { worst = max(worst, relativeDifference(try #require(table[name]), value)) }
        }
        return worst
    }

    static let lifted = LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .ee)

    @Test(arguments: [(true, nil), (false, nil), (true, lifted)])
    func syncRanksEqualOneProcessInDouble(convolutional: Bool, metric: LossConfiguration?) throws {
        let reference = try Self.run(size: 1, convolutional: convolutional, mode: .sync, metric: metric, as: Double.self)[0]
        #expect(reference.buffers.count == 4)
        for size in [2, 3] {
            let ranks = try Self.run(size: size, convolutional: convolutional, mode: .sync, metric: metric, as: Double.self)
            for rank in ranks {
                let worst = try Self.worstDifference(rank, from: reference)
                #expect(worst <= 1e-12, "\(size) ranks: worst relative difference \(worst)")
            }
            // Every rank holds bit-identical running statistics (no averaging needed).
            for rank in ranks.dropFirst() { #expect(rank.buffers == ranks[0].buffers) }
        }
    }

    /// `state` in Double.
    static func widened(_ state: RankState<Float>) -> RankState<Double> {
        func wide(_ m: Matrix<Float>) -> Matrix<Double> { Matrix(rows: m.rows, columns: m.columns, elements: m.elements.map(Double.init)) }
        return RankState(losses: state.losses.map(Double.init), output: wide(state.output), gradients: state.gradients.mapValues(wide),
                         parameters: state.parameters.mapValues(wide), buffers: state.buffers.mapValues(wide))
    }

    /// In Float the N-rank run must be as close to the single-process Float run, and to the
    /// exact (Double) run, as the single-process Float run is to the exact one (within twice
    /// that, and never worse than 1e-5): rounding, not a different computation. Measured: the
    /// quadratic loss keeps the single process within 9e-6 of exact; the lifted loss with HNPM
    /// and EE (log-sum-exp over 12 normalized points, two steps) within 6.1e-5, and 3 ranks
    /// differ from it by 9.1e-5.
    @Test(arguments: [(true, nil), (false, nil), (true, lifted)])
    func syncRanksEqualOneProcessInFloat(convolutional: Bool, metric: LossConfiguration?) throws {
        let reference = try Self.run(size: 1, convolutional: convolutional, mode: .sync, metric: metric, as: Float.self)[0]
        let exact = try Self.run(size: 1, convolutional: convolutional, mode: .sync, metric: metric, as: Double.self)[0]
        let floatError = try Self.worstDifference(Self.widened(reference), from: exact)
        let bound = max(1e-5, 2 * floatError)
        for size in [2, 3] {
            for rank in try Self.run(size: size, convolutional: convolutional, mode: .sync, metric: metric, as: Float.self) {
                let fromSingle = try Self.worstDifference(rank, from: reference)
                let fromExact = try Self.worstDifference(Self.widened(rank), from: exact)
                #expect(fromSingle <= bound, "\(size) ranks: \(fromSingle) from one process (whose Float error is \(floatError))")
                #expect(fromExact <= bound, "\(size) ranks: \(fromExact) from exact (one process: \(floatError))")
            }
        }
    }

    /// A real backbone: ResNet-18 (20 batch norms, down to 1×1 in its last stage) at 32 px
    /// with an 8-dimensional embedding head, random initialization, one lifted + HNPM + EE step
    /// on 4 images, 2 ranks of 2 images against one process. In Double they agree to 1e-10
    /// (measured 3.1e-13); in Float one process is itself 1.6e-4 from the exact result (4 random
    /// images leave the 1×1 batch norms of the last stage ill-conditioned) and 2 ranks are
    /// 9.0e-5 from one process. About 4 minutes in a debug build on the shared 2-core machine,
    /// so it runs only with `DML_BACKBONE_CHECKS=1` (docs/distributed.md, "A backbone").
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DML_BACKBONE_CHECKS"] == "1"))
    func resNet18OnTwoRanksEqualsOneProcess() throws {
        func state<T: NetworkScalar & CommunicatedScalar>(_ size: Int, _: T.Type) throws -> [RankState<T>] {
            try Self.run(size: size, shape: TensorShape(channels: 3, height: 32, width: 32), outputs: 8, batch: 4, classes: 2,
                         iterations: 1, mode: .sync, metric: Self.lifted) {
                Backbones.embeddingNetwork(backbone: try Backbones.make(.resnet18, imageSize: 32, seed: 2, as: T.self),
                                           featureDimension: 512, embeddingDimension: 8, seed: 2, as: T.self)
            }
        }
        let exact = try state(1, Double.self)[0]
        let d = try Self.worstDifference(state(2, Double.self)[0], from: exact)
        let single = try state(1, Float.self)[0]
        let floatError = try Self.worstDifference(Self.widened(single), from: exact)
        let f = try Self.worstDifference(state(2, Float.self)[0], from: single)
        #expect(d <= 1e-10, "Double: \(d)")
        #expect(f <= max(1e-5, 2 * floatError), "Float: \(f) (one process's Float error \(floatError))")
    }

    /// The counter-check that makes the tests above able to fail: with local statistics the
    /// ranks are not the single process.
    @Test func localRanksDifferFromOneProcess() throws {
        let reference = try Self.run(size: 1, convolutional: true, mode: .local, as: Double.self)[0]
        let rank = try Self.run(size: 2, convolutional: true, mode: .local, as: Double.self)[0]
        #expect(try Self.worstDifference(rank, from: reference) > 1e-3)
    }

    /// Central differences in Double of the global loss `L = Σ c ⊙ y + ½ Σ y²` of one batch-norm
    /// layer whose rows are split over `size` ranks, every perturbed forward pass synchronized:
    /// the analytic `∂L/∂x` of each rank's rows and the summed `∂L/∂γ`, `∂L/∂β` must match.
    @Test(arguments: [2, 3])
    func synchronizedBackwardMatchesFiniteDifferences(size: Int) throws {
        let shape = TensorShape(channels: 3, height: 2, width: 2), batch = 6
        var rng = SeededGenerator(seed: 9)
        let x: Matrix<Double> = rng.normalMatrix(rows: batch, columns: shape.count)
        let c: Matrix<Double> = rng.normalMatrix(rows: batch, columns: shape.count)
        let gamma: Matrix<Double> = rng.normalMatrix(rows: 1, columns: 3)
        let beta: Matrix<Double> = rng.normalMatrix(rows: 1, columns: 3)
        let h = 1e-5
        let results = try InProcessGroup(size: size).run { communicator -> (Double, Double) in
            let bn = BatchNorm<Double>(channels: 3)
            (bn.gamma, bn.beta) = (gamma, beta)
            bn.synchronizer = SynchronizedBatchStatistics(communicator: communicator)
            let rows = Array(communicator.slice(ofCount: batch))
            let cLocal = c.gatheringRows(rows)
            /// The global loss for this rank's rows `local` (every rank calls it together).
            func loss(_ local: Matrix<Double>) throws -> Double {
                let y = bn.forward(Tensor(local, shape: shape), training: true).values
                var partial = 0.0
                for k in 0..<y.count { partial += cLocal.elements[k] * y.elements[k] + y.elements[k] * y.elements[k] / 2 }
                var total = [partial]
                try communicator.allReduceSum(&total)
                return total[0]
            }
            let xLocal = x.gatheringRows(rows)
            let y = bn.forward(Tensor(xLocal, shape: shape), training: true).values
            let g = Matrix(rows: y.rows, columns: y.columns, elements: zip(cLocal.elements, y.elements).map { $0 + $1 })
            bn.zeroGradients()
            let dx = bn.backward(Tensor(g, shape: shape)).values
            var parameterGradients = bn.gammaGradient.elements + bn.betaGradient.elements
            try communicator.allReduceSum(&parameterGradients)
            // Every rank perturbs the same global coordinate in turn (only its owner changes a value).
            var worstInput = 0.0
            for row in 0..<batch {
                for column in 0..<shape.count {
                    var plus = xLocal, minus = xLocal
                    if let local = rows.firstIndex(of: row) {
                        plus[local, column] += h
                        minus[local, column] -= h
                    }
                    let numeric = (try loss(plus) - loss(minus)) / (2 * h)
                    if let local = rows.firstIndex(of: row) {
                        worstInput = max(worstInput, abs(dx[local, column] - numeric) / max(1, abs(numeric)))
                    }
                }
            }
            var worstParameter = 0.0
            for k in 0..<6 {
                let original = k < 3 ? bn.gamma[0, k] : bn.beta[0, k - 3]
                func set(_ v: Double) { if k < 3 { bn.gamma[0, k] = v } else { bn.beta[0, k - 3] = v } }
                set(original + h)
                let plus = try loss(xLocal)
                set(original - h)
                let minus = try loss(xLocal)
                set(original)
                let numeric = (plus - minus) / (2 * h)
                worstParameter = max(worstParameter, abs(parameterGradients[k] - numeric) / max(1, abs(numeric)))
            }
            return (worstInput, worstParameter)
        }
        for (input, parameter) in results {
            #expect(input <= 1e-7, "∂L/∂x: worst error \(input)")
            #expect(parameter <= 1e-7, "∂L/∂γ, ∂L/∂β: worst error \(parameter)")
        }
    }

    @Test func combinationEqualsTheTwoPassStatisticsOfTheWholeBatch() {
        // Values far from 0 (|μ| ≫ σ), where E[x²] − μ² would lose every digit in Float.
        var rng = SeededGenerator(seed: 3)
        let values = (0..<40).map { _ in 1e6 + 0.01 * rng.nextNormal() }
        let mean = values.reduce(0, +) / 40
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 40
        // Unequal parts, one of them empty.
        var gathered = [Double]()
        for part in [values[0..<7], values[7..<7], values[7..<25], values[25..<40]] {
            let n = Double(part.count)
            let mu = n > 0 ? part.reduce(0, +) / n : 0
            gathered += [n, mu, part.map { ($0 - mu) * ($0 - mu) }.reduce(0, +)]
        }
        var m = [0.0], v = [0.0]
        let total = BatchStatisticsCombination.combine(gathered, channels: 1, mean: &m, variance: &v)
        #expect(total == 40)
        #expect(abs(m[0] - mean) <= 1e-9)
        // Both agree to the few digits Double leaves when |μ|/σ = 1e8 (ε·|μ|/σ ≈ 1e-8); the
        // summed-squares formula E[x²] − μ² loses all of them.
        #expect(abs(v[0] - variance) <= 1e-7 * variance)
        let naive = values.map { $0 * $0 }.reduce(0, +) / 40 - mean * mean
        #expect(abs(naive - variance) > 1e-2 * variance)
        // Hand-computed: {1, 3} and {5}: μ = 3, σ² = (4 + 0 + 4)/3.
        let small = BatchStatisticsCombination.combine([2, 2, 2, 1, 5, 0], channels: 1, mean: &m, variance: &v)
        #expect(small == 3 && m == [3] && abs(v[0] - 8.0 / 3) < 1e-15)
    }

    @Test func frozenStatisticsAndEvaluationNeverCommunicate() throws {
        let counter = CountingSynchronizer()
        let model = Self.network(convolutional: true, as: Float.self)
        model.synchronizeBatchNorm(with: counter)
        #expect(model.batchStatisticsLayerCount == 2)
        var rng = SeededGenerator(seed: 1)
        let x = Tensor<Float>(rng.normalMatrix(rows: 4, columns: Self.imageShape.count), shape: Self.imageShape)
        let y = model.forward(x, training: true)
        _ = model.backward(Tensor(y.values, shape: y.shape))
        #expect(counter.gathers == 2 && counter.sums == 2)
        _ = model.forward(x, training: false)
        model.freezeBatchNormStatistics()
        #expect(model.batchStatisticsLayerCount == 0)
        let frozen = model.forward(x, training: true)
        _ = model.backward(Tensor(frozen.values, shape: frozen.shape))
        #expect(counter.gathers == 2 && counter.sums == 2)
    }

    /// Through `DataParallelStep` (what the trainer runs) with a metric-learning loss: lifted
    /// structured with HNPM and EE on the gathered embeddings of the small CNN, 2 and 3 ranks
    /// against one process (gradients within 5e-5 of their scale in Float, see above).
    @Test func dataParallelStepWithBatchNormEqualsOneProcess() throws {
        let labels = BatchFactory.labels(classes: 3, perClass: 4)
        var rng = SeededGenerator(seed: 23)
        let x: Matrix<Float> = rng.normalMatrix(rows: labels.count, columns: Self.imageShape.count)
        let loss = LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .ee)
        func step(_ size: Int) throws -> [(Float, [String: Matrix<Float>], [String: Matrix<Float>], CollectiveStepSeconds)] {
            try InProcessGroup(size: size).run { communicator in
                let model = Self.network(convolutional: true, as: Float.self)
                let parallel = try DataParallelStep(communicator: communicator, globalBatch: labels.count)
                parallel.attach(to: model)
                let local = model.forward(Tensor(x.gatheringRows(Array(parallel.rows)), shape: Self.imageShape), training: true)
                try parallel.checkBatchNormCollectives()
                let embeddings = try parallel.gatherEmbeddings(local.values)
                let output: LossOutput<Float> = try loss.evaluate(embeddings, labels: labels)
                model.zeroGradients()
                _ = model.backward(Tensor(parallel.localRows(of: output.gradient), shape: local.shape))
                try parallel.allReduceGradients(of: model)
                try parallel.averageBuffers(of: model)
                var gradients = [String: Matrix<Float>](), buffers = [String: Matrix<Float>]()
                model.visitParameters { name, _, gradient in gradients[name] = gradient }
                model.visitBuffers { name, value in buffers[name] = value }
                return (output.value, gradients, buffers, CollectiveStepSeconds(parallel.times, steps: 1))
            }
        }
        let reference = try step(1)[0]
        #expect(reference.3 == CollectiveStepSeconds(embeddingGather: 0, gradientReduce: 0, batchNorm: 0))
        for size in [2, 3] {
            for rank in try step(size) {
                #expect(abs(rank.0 - reference.0) <= 1e-5 * abs(reference.0))
                for (name, g) in reference.1 {
                    let d = Self.relativeDifference(try #require(rank.1[name]), g)
                    #expect(d <= 5e-5, "\(name) at \(size) ranks: \(d)")
                }
                for (name, b) in reference.2 {
                    #expect(Self.relativeDifference(try #require(rank.2[name]), b) <= 1e-5, "\(name) at \(size) ranks")
                }
                #expect(rank.3.batchNorm > 0 && rank.3.embeddingGather > 0 && rank.3.gradientReduce > 0)
            }
        }
    }
}

/// One replica that counts the collectives batch normalization asks for.
final class CountingSynchronizer: BatchStatisticsSynchronizer {
    var gathers = 0, sums = 0
    func gather(_ local: [Double]) -> [Double] {
        gathers += 1
        return local
    }
    func sum(_ buffer: inout [Double]) { sums += 1 }
}

@Suite struct CollectiveTimingTests {
    @Test func stepRecordsCarryTheCollectiveTimesThroughTheLog() throws {
        let times = CollectiveStepSeconds(embeddingGather: 0.25, gradientReduce: 1.5, batchNorm: 0.125)
        let record = RunLogRecord.step(TrainingStepRecord(iteration: 4, epoch: 0.5, loss: 1, syntheticFraction: nil, learningRate: 1e-3,
                                                          imagesPerSecond: 10, elapsedSeconds: 2, collectives: times))
        let line = record.jsonLine()
        #expect(line.contains("\"allgather_seconds\":0.25") && line.contains("\"allreduce_seconds\":1.5")
                && line.contains("\"batchnorm_sync_seconds\":0.125"))
        #expect(try RunLogRecord.parse(line) == record)
        // A single-process record has none of the keys.
        let plain = RunLogRecord.step(TrainingStepRecord(iteration: 4, epoch: 0.5, loss: 1, syntheticFraction: nil, learningRate: 1e-3,
                                                         imagesPerSecond: 10, elapsedSeconds: 2))
        #expect(!plain.jsonLine().contains("allgather_seconds"))
        #expect(try RunLogRecord.parse(plain.jsonLine()) == plain)
        // Accumulated times become means per step.
        let accumulated = CollectiveTimes()
        (accumulated.embeddingGather, accumulated.gradientReduce, accumulated.batchNorm) = (1, 6, 0.5)
        #expect(CollectiveStepSeconds(accumulated, steps: 4) == times)
    }
}

@Suite struct BatchNormModeConfigurationTests {
    @Test func configurationsWithoutTheKeyReadAsSyncAndUnknownModesAreRefused() throws {
        var c = TrainingConfiguration()
        c.batchNorm = .local
        var object = try JSONSerialization.jsonObject(with: JSONConfiguration.encode(c)) as! [String: Any]
        #expect(object["batchNorm"] as? String == "local")
        object["batchNorm"] = nil
        let read = try JSONConfiguration.decode(TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: object),
                                                over: TrainingConfiguration(), source: "config.json")
        #expect(read.batchNorm == .sync)
        object["batchNorm"] = "global"
        let error = #expect(throws: (any Error).self) {
            try JSONConfiguration.decode(TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: object),
                                         over: TrainingConfiguration(), source: "config.json")
        }
        #expect(error.map { "\($0)" }?.contains("sync, local") == true, "\(String(describing: error))")
    }
}
