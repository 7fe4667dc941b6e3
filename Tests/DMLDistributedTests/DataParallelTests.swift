import Testing
import DMLNumerics
import DMLNetworks
import DMLDistributed
import MetricLearning
@testable import DMLTraining
import DMLTestSupport

@Suite struct CommunicatorTests {
    @Test(arguments: [1, 2, 3, 5])
    func shardsCoverEveryItemOnceInOrder(size: Int) throws {
        for count in [0, 1, 7, 12, 100] {
            let shards = try InProcessGroup(size: size).run { c in c.shard(ofCount: count) }
            #expect(shards.first?.lowerBound == 0)
            #expect(shards.last?.upperBound == count)
            for (a, b) in zip(shards, shards.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
            #expect(shards.map(\.count).max()! - shards.map(\.count).min()! <= 1)
        }
    }

    @Test func singleProcessCollectivesAreTheIdentity() throws {
        let c = SingleProcessCommunicator()
        #expect(c.rank == 0 && c.size == 1 && c.isRoot)
        #expect(try c.allGather([1.5, 2.5] as [Float]) == [1.5, 2.5])
        var buffer: [Double] = [3, 4]
        try c.allReduceSum(&buffer)
        #expect(buffer == [3, 4])
        #expect(c.slice(ofCount: 8) == 0..<8)
    }

    @Test func inProcessGroupGathersInRankOrderAndSums() throws {
        let results = try InProcessGroup(size: 3).run { c -> ([Float], [Double], [UInt8]) in
            let gathered = try c.allGather([Float(c.rank), Float(10 * c.rank)])
            var sum: [Double] = [Double(c.rank + 1), 1]
            try c.allReduceSum(&sum)
            var bytes: [UInt8] = c.rank == 2 ? [7, 8, 9] : []
            try c.broadcast(&bytes, from: 2)
            return (gathered, sum, bytes)
        }
        for (gathered, sum, bytes) in results {
            #expect(gathered == [0, 0, 1, 10, 2, 20])
            #expect(sum == [6, 3])
            #expect(bytes == [7, 8, 9])
        }
    }

    @Test func differentSettingsAreDetected() throws {
        let outcomes = try InProcessGroup(size: 2).run { c -> Bool in
            do {
                try c.requireIdentical(c.rank == 0 ? [1, 2] : [1, 3], what: "the configuration")
                return false
            } catch CommunicatorError.mismatch { return true }
        }
        #expect(outcomes == [true, true])
    }
}

@Suite struct DataParallelStepTests {
    /// One training step's loss and parameter gradients, computed by `size` ranks that each
    /// forward their slice of the batch, gather the embeddings, and all-reduce the gradients.
    static func step(size: Int, loss: LossConfiguration, seed: UInt64) throws -> [(loss: Float, gradients: [String: Matrix<Float>])] {
        let classes = 4, perClass = 6, dimension = 10
        var rng = SeededGenerator(seed: seed)
        let x: Matrix<Float> = rng.normalMatrix(rows: classes * perClass, columns: dimension)
        let labels = BatchFactory.labels(classes: classes, perClass: perClass)
        return try InProcessGroup(size: size).run { communicator in
            let model = ModelPresets.mlp(inputDimension: dimension, hiddenDimensions: [16], embeddingDimension: 8,
                                         seed: seed, as: Float.self)
            let parallel = try DataParallelStep(communicator: communicator, globalBatch: labels.count)
            let rows = parallel.rows
            let local = Matrix(rows: rows.count, columns: dimension,
                               elements: Array(x.elements[(rows.lowerBound * dimension)..<(rows.upperBound * dimension)]))
            let embeddings = model.forward(Tensor(local), training: true)
            let global = try parallel.gatherEmbeddings(embeddings.values)
            let output: LossOutput<Float> = try loss.evaluate(global, labels: labels)
            model.zeroGradients()
            _ = model.backward(Tensor(parallel.localRows(of: output.gradient), shape: embeddings.shape))
            try parallel.allReduceGradients(of: model)
            var gradients = [String: Matrix<Float>]()
            model.visitParameters { name, _, gradient in gradients[name] = gradient }
            return (output.value, gradients)
        }
    }

    @Test(arguments: [
        LossConfiguration(kind: .lifted),
        LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .ee),
        LossConfiguration(kind: .npair, mining: .hnpm, synthesis: .symm),
        LossConfiguration(kind: .multisimilarity, mining: .hnpm, synthesis: .ee),
    ])
    func ranksReproduceTheSingleProcessStep(loss: LossConfiguration) throws {
        let reference = try Self.step(size: 1, loss: loss, seed: 5)[0]
        #expect(reference.loss > 0)
        for size in [2, 3] {
            let ranks = try Self.step(size: size, loss: loss, seed: 5)
            for rank in ranks {
                #expect(abs(rank.loss - reference.loss) <= 1e-6 * abs(reference.loss))
                for (name, g) in reference.gradients {
                    let other = try #require(rank.gradients[name])
                    let scale = max(g.elements.map(abs).max() ?? 0, 1e-12)
                    #expect(g.maxAbsDifference(other) <= 1e-5 * scale, "\(name) at \(size) ranks")
                }
            }
            // Every rank ends with bit-identical gradients, so their optimizer steps agree.
            for rank in ranks.dropFirst() {
                for (name, g) in ranks[0].gradients { #expect(rank.gradients[name] == g, "\(name)") }
            }
        }
    }

    @Test func aBatchTheRanksDoNotDivideIsRefused() {
        #expect(throws: TrainingError.self) {
            _ = try DataParallelStep(communicator: SingleProcessCommunicatorOfSize3(), globalBatch: 16)
        }
    }
}

/// A communicator that only claims to have 3 ranks (for validation tests; no collective is called).
final class SingleProcessCommunicatorOfSize3: Communicator {
    var rank: Int { 0 }
    var size: Int { 3 }
    func allGather<T: CommunicatedScalar>(_ local: [T]) throws -> [T] { fatalError() }
    func allGatherVariable<T: CommunicatedScalar>(_ local: [T]) throws -> [T] { fatalError() }
    func allReduceSum<T: CommunicatedScalar>(_ buffer: inout [T]) throws { fatalError() }
    func allReduceMax<T: CommunicatedScalar>(_ buffer: inout [T]) throws { fatalError() }
    func broadcast(_ bytes: inout [UInt8], from root: Int) throws { fatalError() }
    func barrier() throws { fatalError() }
    func abort(code: Int32, message: String) -> Never { fatalError() }
}
